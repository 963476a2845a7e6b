using BenchmarkDotNet.Attributes;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Benchmarks;

/// <summary>
/// One Exercise-4 training step (n_hidden 200, batch 32) — forward, backward and SGD update — manual
/// (<see cref="Backward.FusedStep"/>: libtorch for the six matmuls, C# loops for the rest) vs autograd (the MLP's layers'
/// forward, <c>loss.backward()</c>, <c>optim.SGD</c>), on the same batch from the same parameters.
/// </summary>
public class TrainingStepBenchmark : StepBenchmark
{
    /// <summary>libtorch intra-op threads.</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(Threads);
        var g = new Generator(MlpConfig.LectureSeed);
        var config = new MlpConfig(NHidden: 200);
        var p = MlpParameters.Init(config, g);
        // A synthetic batch: the benchmark must not depend on where names.txt lives.
        Xb = randint(0, Vocabulary.Size, [32, config.BlockSize], generator: g);
        Yb = randint(0, Vocabulary.Size, [32], generator: g);
        ManualTrainer = new FusedTrainer(p.Copy(requiresGrad: false));
        AutogradTrainer = new AutogradLayerTrainer(new Mlp(p.Copy(requiresGrad: false)));
    }
}
