using System.CommandLine;
using ManualVsAuto.Training;

namespace ManualVsAuto.Cli;

/// <summary><c>sample</c>: names from a checkpoint, with the lecture's sampling loop.</summary>
public static class SampleCommand
{
    public const int DefaultCount = 20;

    /// <summary>The lecture's <c>torch.Generator().manual_seed(2147483647 + 10)</c>.</summary>
    public const ulong DefaultSeed = 2147483647UL + 10;

    public static Command Create()
    {
        var checkpoint = Opt.Path("--checkpoint", $"checkpoint to sample from (default: <repo>/checkpoints/mlp.ckpt, now {CheckpointLocation.Default()})");
        var count = Opt.Int("--count", DefaultCount, "number of names", 0);
        var seed = Opt.Seed(DefaultSeed, "seed of the sampling generator");
        var data = Opt.Path("--data", "names.txt, needed only to calibrate batchnorm for a checkpoint saved mid-run (default: data/names.txt in the repository)");
        var cmd = new Command("sample", "Sample names from a trained checkpoint (a mid-run checkpoint is calibrated over the training set first); names are printed as they are made.")
        {
            checkpoint, count, seed, data,
        };
        cmd.SetAction(r =>
        {
            string path = CheckpointLocation.Resolve(r.GetValue(checkpoint));
            var c = CheckpointFile.Read(path);
            using var scope = TorchSharp.torch.NewDisposeScope();
            var p = c.ToParameters();
            var bn = c.BatchNorm;
            if (bn is null)
            {
                var d = TrainingData.Load(r.GetValue(data), Console.Error);
                DataSize.EnsureTraining("sample (calibrating a mid-run checkpoint)", d.Split.ShuffledWords, d.Path);
                d.EnsureMatches(c, path);
                MemoryBudget.Ensure(MemoryBudget.Sample(c.Settings.Hidden, d.Split.Train.Count),
                    $"calibrating {path} (--hidden {c.Settings.Hidden}) over {d.Split.Train.Count:N0} training examples");
                Console.Error.WriteLine($"{path} is from step {c.Step:N0} of {c.Settings.Steps:N0} and has no batchnorm statistics: calibrating over the training set of {d.Path}.");
                bn = Inference.Calibrate(p, d.Split.Train);
            }
            try
            {
                foreach (var name in Inference.Sample(p, bn, r.GetValue(count), r.GetValue(seed))) Console.Out.WriteLine(name);
            }
            catch (System.Runtime.InteropServices.ExternalException e) when (e.Message.Contains("probability tensor", StringComparison.Ordinal))
            {
                throw new UserInputException($"{path}: the net in this checkpoint gives NaN or infinite probabilities (its parameters blew up, e.g. with a huge --lr); it cannot sample.");
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
