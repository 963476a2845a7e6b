using BenchmarkDotNet.Attributes;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Benchmarks;

/// <summary>
/// One Exercise-4 training step (n_hidden 200, batch 32) — forward, backward and SGD update — manual
/// (<see cref="Backward.LoopStep"/>: libtorch for the six matmuls, C# loops for the rest) vs autograd, on the same
/// batch from the same parameters; and the floor and the loop (<see cref="StepBenchmark"/>).
/// </summary>
public class TrainingStepBenchmark : StepBenchmark
{
    public const int Steps = 20_000;

    protected override ModelKind Model => ModelKinds.Mlp;

    protected override int LoopSteps => Steps;

    protected override Sequential CreateNet(ulong seed) => new Mlp(MlpParameters.Init(new MlpConfig(NHidden: 200), new Generator(seed)));

    protected override IModelTrainer CreateManualTrainer() => new LoopStepTrainer(MlpParameters.Init(new MlpConfig(NHidden: 200), new Generator(1)));

    [Benchmark(OperationsPerInvoke = Steps, Description = "training loop, per step")]
    public void Loop() => RunLoop();
}
