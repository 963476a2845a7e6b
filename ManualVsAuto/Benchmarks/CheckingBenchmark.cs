using BenchmarkDotNet.Attributes;
using ManualVsAuto.Checking;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Benchmarks;

/// <summary>
/// What the checker's own float64 decision costs on the lecture's check: the step-by-step forward (n_hidden 64,
/// batch 32), autograd, and one float32 row that is not allclose, decided by the float64 replay of every step, against
/// the same with the replay switched off. Their difference is the replay.
/// </summary>
public class CheckingBenchmark
{
    private MlpParameters p = null!;
    private Tensor Xb = null!, Yb = null!;

    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(1);
        var g = new Generator(MlpConfig.LectureSeed);
        p = MlpParameters.Init(new MlpConfig(NHidden: 64), g);
        foreach (var (_, t) in p.Named) t.DetachFromDisposeScope();
        Xb = randint(0, Vocabulary.Size, [32, new MlpConfig().BlockSize], generator: g).DetachFromDisposeScope();
        Yb = randint(0, Vocabulary.Size, [32], generator: g).DetachFromDisposeScope();
    }

    private bool Check(bool replay)
    {
        using var scope = NewDisposeScope();
        foreach (var (_, t) in p.Named) t.grad?.zero_();
        var check = new GradientCheck { ReplayInFloat64 = replay };
        var f = StepByStepForward.Run(p, Xb, Yb, check);
        check.Backward(f.loss);
        return check.Compare("C", -p.C.grad!).Passed; // a sign error: not allclose, so it is decided in float64
    }

    [Benchmark(Baseline = true, Description = "lecture check, one wrong row, replay off")]
    public bool ReplayOff() => Check(replay: false);

    [Benchmark(Description = "lecture check, one wrong row decided by the float64 replay")]
    public bool Replayed() => Check(replay: true);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var (_, t) in p.Named) t.Dispose();
        Xb.Dispose();
        Yb.Dispose();
    }
}
