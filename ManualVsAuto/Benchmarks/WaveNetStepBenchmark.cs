using BenchmarkDotNet.Attributes;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Benchmarks;

/// <summary>One training step of makemore part 5's WaveNet (n_embd 24, n_hidden 128, block size 8, batch 32), the layers' manual
/// backward vs autograd. Both run the layers' one forward, to the same bits; without a graph to record, batchnorm's variance
/// takes its C# path (libtorch's <c>var</c> replicated), which the manual step gains and autograd, needing the graph, cannot.</summary>
public class WaveNetStepBenchmark : StepBenchmark
{
    /// <summary>libtorch intra-op threads: one, as <c>train</c> runs by default (on this shared 2-core machine two threads
    /// wait on each other and measure the load, not the step).</summary>
    [Params(1)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(Threads);
        ManualTrainer = LayerTrainer.Create(BackwardKind.Manual, WaveNet.Create(new Generator(WaveNet.LectureSeed)));
        AutogradTrainer = LayerTrainer.Create(BackwardKind.Autograd, WaveNet.Create(new Generator(WaveNet.LectureSeed)));
        // A synthetic batch: the benchmark must not depend on where names.txt lives.
        var g = new Generator(1);
        Xb = randint(0, Vocabulary.Size, [32, WaveNet.BlockSize], generator: g);
        Yb = randint(0, Vocabulary.Size, [32], generator: g);
    }
}
