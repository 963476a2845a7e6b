using ManualVsAuto.Model;
using ManualVsAuto.Training;

namespace ManualVsAuto.Tests;

/// <summary>
/// One entry per model: a net registered by a test alone (<see cref="TinyNet"/>, one <see cref="ModelKinds.Register"/>)
/// goes through check, train, a checkpoint, resume and sample, with the defaults every later folder has for a net of layers.
/// </summary>
[Collection(InProcessCli.Name)]
public sealed class ModelRegistryTests : CliTestFolder
{
    [Fact]
    public void ATestRegisteredNetRunsThroughCheckTrainCheckpointAndSample()
    {
        string data = Names(300), ckpt = Path.Combine(dir, "tiny.ckpt");
        using (ModelKinds.Register(TinyNet.Entry))
        {
            var help = InProcessCli.Run("check", "--help");
            Assert.Contains("tiny: a test's two-layer net, checked layer by layer (--seed 7 and --hidden 8 unless given)", help.Stdout);

            var check = InProcessCli.Run("check", "--model", "tiny", "--data", data, "--numeric", "fast", "--require", "exact", "--format", "csv");
            Assert.True(check.ExitCode == 0, check.Output);
            var rows = check.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToList();
            // No batchnorm: every layer's row is bitwise autograd's; only the loss row (the fused formula) is approximate.
            Assert.StartsWith("layers[4] Linear out,\"(32, 27)\",approximate,", rows[0]);
            Assert.All(rows.Skip(1), r => Assert.Contains(",exact,true,true,true,true,", r));
            Assert.Contains(rows, r => r.StartsWith("layers[2] Linear weight,", StringComparison.Ordinal));
            Assert.Contains(rows, r => r.StartsWith("layers[0] Embedding weight,", StringComparison.Ordinal));
            Assert.All(rows, r => Assert.EndsWith(",exact,tiny", r));

            var train = InProcessCli.Run("train", "--model", "tiny", "--data", data, "--steps", "40", "--checkpoint", ckpt);
            Assert.True(train.ExitCode == 0, train.Output);
            Assert.Contains("Training tiny, block size 2, 40 steps, n_hidden 8, batch 32, lr 0.1 then 0.01 from step 30, seed 7, manual backward", train.Stderr);
            var lines = train.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.StartsWith("      0/     40: ", lines[0]); // the loss lines, then the result
            var result = lines.SkipWhile(l => !l.StartsWith("train ", StringComparison.Ordinal)).ToList();
            Assert.StartsWith("val ", result[1]);
            Assert.Equal(20, result.Count - 2);

            var saved = CheckpointFile.Read(ckpt);
            Assert.Same(TinyNet.Entry, saved.Settings.Model);
            Assert.Equal(40, saved.Step);
            Assert.Equal(1, saved.BackwardRevision);
            Assert.Equal(["layers[0].weight", "layers[2].weight", "layers[2].bias", "layers[4].weight", "layers[4].bias"], saved.Parameters.Select(p => p.Name));

            var resumed = InProcessCli.Run("train", "--resume", "--model", "tiny", "--data", data, "--steps", "60", "--checkpoint", ckpt);
            Assert.True(resumed.ExitCode == 0, resumed.Output);
            Assert.Contains("Resuming at step 40 and extending the run from 40 to 60 steps", resumed.Stderr);
            Assert.Equal(60, CheckpointFile.Read(ckpt).Step);

            var sample = InProcessCli.Run("sample", "--model", "tiny", "--checkpoint", ckpt, "--count", "5");
            Assert.True(sample.ExitCode == 0, sample.Output);
            var names = sample.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(5, names.Length);
            Assert.All(names, n => Assert.EndsWith(".", n));
            Assert.Equal(names, InProcessCli.Run("sample", "--model", "tiny", "--checkpoint", ckpt, "--count", "5").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        // Unregistered, it is gone from --model again, and its checkpoint names a net this program does not know.
        Assert.Equal(2, InProcessCli.Run("check", "--model", "tiny", "--data", data).ExitCode);
        Assert.Contains("unknown model 'tiny'", InProcessCli.Run("sample", "--checkpoint", ckpt).Stderr);
    }

    [Fact]
    public void ANameIsRegisteredOnce()
    {
        Assert.Throws<ArgumentException>(() => ModelKinds.Register(new ModelKind
        {
            Name = "wavenet", Description = "", BlockSize = 1, LectureSeed = 1, LectureNHidden = 1,
            Create = TinyNet.Create, ParameterCount = _ => 0, ActivationsPerExample = _ => 0,
        }));
        Assert.Equal(["mlp", "wavenet", "deep"], ModelKinds.All.Select(k => k.Name));
    }
}
