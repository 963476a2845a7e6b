using BenchmarkDotNet.Attributes;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Benchmarks;

/// <summary>One training step of makemore part 5's WaveNet (n_embd 24, n_hidden 128, block size 8, batch 32), the layers' manual
/// backward vs autograd; and the floor and the loop (<see cref="StepBenchmark"/>). Without a graph to record, batchnorm's
/// variance takes its C# path (libtorch's <c>var</c> replicated), which the manual step gains and autograd, needing the
/// graph, cannot.</summary>
public class WaveNetStepBenchmark : StepBenchmark
{
    /// <summary>Fewer than the MLP's: a WaveNet step is ≈ 15× longer.</summary>
    public const int Steps = 2_000;

    protected override ModelKind Model => ModelKinds.WaveNet;

    protected override int LoopSteps => Steps;

    protected override Sequential CreateNet(ulong seed) => WaveNet.Create(new Generator(seed));

    protected override IModelTrainer CreateManualTrainer() => LayerTrainer.Create(BackwardKind.Manual, CreateNet(1));

    [Benchmark(OperationsPerInvoke = Steps, Description = "training loop, per step")]
    public void Loop() => RunLoop();
}
