using BenchmarkDotNet.Attributes;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Benchmarks;

/// <summary>
/// One training step, manual backward vs autograd, on the same batch from the same parameters: the forward code is
/// shared, so the ratio compares the backward passes (and the update). A subclass builds the two trainers and the batch.
/// </summary>
[MemoryDiagnoser(displayGenColumns: false)]
public abstract class StepBenchmark
{
    protected IModelTrainer ManualTrainer { get; set; } = null!;
    protected IModelTrainer AutogradTrainer { get; set; } = null!;
    protected Tensor Xb { get; set; } = null!;
    protected Tensor Yb { get; set; } = null!;

    /// <summary>A tiny learning rate keeps the parameters (and so the work) the same over millions of steps.</summary>
    private const double Lr = 1e-12;

    [Benchmark(Baseline = true, Description = "autograd step")]
    public void Autograd()
    {
        using var scope = NewDisposeScope();
        AutogradTrainer.Step(Xb, Yb, Lr);
    }

    [Benchmark(Description = "manual step")]
    public void Manual()
    {
        using var scope = NewDisposeScope();
        ManualTrainer.Step(Xb, Yb, Lr);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        ManualTrainer.Dispose();
        AutogradTrainer.Dispose();
    }
}
