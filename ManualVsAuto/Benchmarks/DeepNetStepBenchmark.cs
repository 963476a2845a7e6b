using BenchmarkDotNet.Attributes;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Benchmarks;

/// <summary>One training step of makemore part 3's deep net (five Linear–BatchNorm–Tanh blocks of 100, batch 32), the
/// layers' manual backward vs autograd; and the floor and the loop (<see cref="StepBenchmark"/>).</summary>
public class DeepNetStepBenchmark : StepBenchmark
{
    public const int Steps = 5_000;

    protected override ModelKind Model => ModelKinds.Deep;

    protected override int LoopSteps => Steps;

    protected override Sequential CreateNet(ulong seed) => DeepNet.Create(new Generator(seed));

    protected override IModelTrainer CreateManualTrainer() => LayerTrainer.Create(BackwardKind.Manual, CreateNet(1));

    [Benchmark(OperationsPerInvoke = Steps, Description = "training loop, per step")]
    public void Loop() => RunLoop();
}
