using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>The WaveNet trained on the layers' manual backward: against autograd, through checkpoints, with --verify-every.</summary>
public sealed class WaveNetTrainingTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mva-wavenet-").FullName;

    // One intra-op thread (the suite's setting, see LibTorchThreads), as `train` runs by default: with two threads on a
    // busy 2-core machine libtorch's threads wait on each other and a WaveNet step takes ~100 ms instead of ~3 ms.

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static ManualVsAuto.Data.Examples Train => WaveNetFixture.Split.Train;

    private static TrainingSettings Settings(int steps, BackwardKind kind = BackwardKind.Manual) =>
        TrainingSettings.LectureDefaults(ModelKinds.WaveNet) with { Steps = steps, NHidden = 32, DecayStep = steps * 2 / 3, Backward = kind };

    private static float[] Flat(TrainingRun run) => run.Trainer.State.SelectMany(s => s.Tensor.detach().to_type(ScalarType.Float32).data<float>().ToArray()).ToArray();

    /// <summary>
    /// Same init and minibatches, 300 steps each way. The fused cross-entropy and batchnorm round differently from
    /// autograd's chain, so the parameters (and running statistics) drift apart by float32 rounding: measured ≤ 6.5e-7 of
    /// each one's largest magnitude at step 300 (n_hidden 32). The bound, 1e-5 as for the MLP, keeps a 15x margin; a wrong
    /// gradient moves a parameter by ~lr·|grad| ≈ 1e-3 in a single step, 100x beyond it.
    /// </summary>
    [DataFact]
    public void ManualAndAutogradTrainingReachTheSameParameters()
    {
        using var manual = TrainingRun.Start(Settings(300), TrainingRunFactory.DataSha);
        using var autograd = TrainingRun.Start(Settings(300, BackwardKind.Autograd), TrainingRunFactory.DataSha);
        using var initial = TrainingRun.Start(Settings(300), TrainingRunFactory.DataSha);
        foreach (var run in new[] { manual, autograd })
            Assert.Equal(TrainingEnd.Completed, TrainingLoop.Run(run, Train, new LoopOptions(null), new RecordingReporter(), _ => false).End);
        Assert.Equal(BackwardKind.Autograd, autograd.Trainer.Kind);
        foreach (var (((name, m), (_, a)), (_, p0)) in manual.Trainer.State.Zip(autograd.Trainer.State).Zip(initial.Trainer.State))
        {
            using var scope = NewDisposeScope();
            double diff = (m - a).abs().max().item<float>();
            double scale = a.abs().max().item<float>();
            double moved = (a.detach() - p0).abs().max().item<float>();
            Assert.True(diff <= 1e-5 * scale, $"{name}: max |manual − autograd| = {diff:e2} > 1e-5·{scale:F2}");
            Assert.True(moved > 100 * diff, $"{name} barely trained: moved {moved:e2}"); // the comparison is not vacuous
        }
    }

    /// <summary>The manual step's update is one loop over each parameter's memory; it must round as libtorch's
    /// <c>add_(grad, alpha: −lr)</c> (optim.SGD's op, a fused multiply-add) does, bit for bit, so it changes no result.</summary>
    [Fact]
    public void ManualStepUpdatesAsAddWithAlphaDoes()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(1);
        var Xb = randint(0, 27, [32, WaveNet.BlockSize], generator: g);
        var Yb = randint(0, 27, [32], generator: g);
        using var stepped = new ManualLayerTrainer(WaveNet.Create(new Generator(WaveNet.LectureSeed), nHidden: 32));
        using var reference = new ManualLayerTrainer(WaveNet.Create(new Generator(WaveNet.LectureSeed), nHidden: 32));
        stepped.Step(Xb, Yb, 0.1);
        reference.Backward(Xb, Yb, ForwardMode.Train);
        foreach (var (s, r) in stepped.Model.Parameters.Zip(reference.Model.Parameters))
        {
            Assert.True(r.Grad!.abs().max().item<float>() > 0); // the update moves something
            Assert.True(s.Value.equal(r.Value.add_(r.Grad!, alpha: -0.1)).all().item<bool>(), r.Name);
        }
    }

    /// <summary>A run stopped at step 73 and resumed from its checkpoint ends bitwise equal to a straight one, the
    /// batchnorm running statistics included.</summary>
    [DataTheory]
    [InlineData(BackwardKind.Manual)]
    [InlineData(BackwardKind.Autograd)]
    public void CheckpointRoundTripResumesBitwise(BackwardKind kind)
    {
        var settings = Settings(120, kind);
        using var straight = TrainingRun.Start(settings, TrainingRunFactory.DataSha);
        TrainingLoop.Run(straight, Train, new LoopOptions(null), new RecordingReporter(), _ => false);

        string path = Path.Combine(dir, $"{kind}.ckpt");
        using (var first = TrainingRun.Start(settings, TrainingRunFactory.DataSha))
        {
            Assert.Equal(TrainingEnd.Interrupted,
                TrainingLoop.Run(first, Train, new LoopOptions(path, CheckpointEvery: 50), new RecordingReporter(), i => i == 73).End);
            var saved = CheckpointFile.Read(path);
            Assert.Equal(ModelKinds.WaveNet, saved.Settings.Model);
            Assert.Equal(first.Trainer.State.Select(s => s.Name), saved.Parameters.Select(p => p.Name));
            Assert.Contains("layers[3].running_var", saved.Parameters.Select(p => p.Name));
            Assert.Equal(Flat(first), saved.Parameters.SelectMany(p => p.Array.Data));
        }
        using var resumed = TrainingRun.Resume(CheckpointFile.Read(path));
        Assert.Equal(kind, resumed.Trainer.Kind);
        TrainingLoop.Run(resumed, Train, new LoopOptions(path, CheckpointEvery: 50), new RecordingReporter(), _ => false);
        Assert.Equal(Flat(straight), Flat(resumed));
        Assert.Equal(straight.Losses(), resumed.Losses());
    }

    [DataFact]
    public void VerificationPassesCorrectWaveNetSteps()
    {
        using var run = TrainingRun.Start(Settings(40), TrainingRunFactory.DataSha);
        var reporter = new RecordingReporter();
        var result = TrainingLoop.Run(run, Train, new LoopOptions(null, VerifyEvery: 10), reporter, _ => false);
        Assert.Equal(TrainingEnd.Completed, result.End);
        Assert.Equal(4, reporter.Notes.Count(n => n.Contains("the 12 manual parameter gradients match autograd")));
    }

    [DataFact]
    public void AMidRunCheckpointSamplesWithItsRunningStatistics()
    {
        string path = Path.Combine(dir, "mid.ckpt");
        using (var run = TrainingRun.Start(Settings(30), TrainingRunFactory.DataSha))
            TrainingLoop.Run(run, Train, new LoopOptions(path, CheckpointEvery: 10), new RecordingReporter(), i => i == 20);
        var trained = ITrainedModel.FromCheckpoint(CheckpointFile.Read(path), path, () => throw new InvalidOperationException("the WaveNet needs no calibration"));
        var names = trained.Sample(5, 1).ToList();
        Assert.Equal(5, names.Count);
        Assert.All(names, n => Assert.True(n.EndsWith('.') || n.Length == Inference.MaxNameLength, n));
        Assert.InRange(trained.SplitLoss(WaveNetFixture.Split.Dev), 2.0, 3.5);
    }
}
