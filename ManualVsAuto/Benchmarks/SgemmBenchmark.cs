using BenchmarkDotNet.Attributes;
using static TorchSharp.torch;

namespace ManualVsAuto.Benchmarks;

/// <summary>The machine's float32 matmul throughput on one large product (libtorch's sgemm into a preallocated output),
/// from which <see cref="Cli.BenchmarkCommand"/> prints each step's FLOP floor.</summary>
public class SgemmBenchmark
{
    public const int Size = 1024;

    [ParamsSource(nameof(ThreadCountsSource))]
    public int Threads { get; set; }

    public static IEnumerable<int> ThreadCountsSource() => StepBenchmark.ThreadCounts;

    private Tensor a = null!, b = null!, o = null!;

    public static double Flops => 2.0 * Size * Size * Size;

    [GlobalSetup]
    public void Setup()
    {
        set_num_threads(Threads);
        var g = new Generator(1);
        a = randn([Size, Size], generator: g).DetachFromDisposeScope();
        b = randn([Size, Size], generator: g).DetachFromDisposeScope();
        o = empty(Size, Size).DetachFromDisposeScope();
    }

    [Benchmark(Description = "sgemm 1024³")]
    public void Sgemm() => o.addmm_(a, b, beta: 0, alpha: 1);

    [GlobalCleanup]
    public void Cleanup()
    {
        a.Dispose();
        b.Dispose();
        o.Dispose();
    }
}
