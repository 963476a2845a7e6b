using BenchmarkDotNet.Attributes;
using ManualVsAuto.Checking;
using TorchSharp;
using static TorchSharp.torch;

namespace ManualVsAuto.Benchmarks;

/// <summary>
/// One rule test (<see cref="FunctionCheck"/>) of a GELU Function on a tensor of the lecture's size, 32×200 (a batch
/// of hidden activations), with the batch rule on: what a user's xunit test of a custom Function costs
/// (<c>benchmark --model checks</c>).
/// </summary>
public class FunctionCheckBenchmark
{
    private Tensor x = null!;

    [GlobalSetup]
    public void Setup() => x = randn([32, 200], dtype: ScalarType.Float64, generator: new Generator(1)).DetachFromDisposeScope();

    [Benchmark(Description = "rule test of a GELU Function, 32×200")]
    public bool RuleTest()
    {
        using var scope = NewDisposeScope();
        return FunctionCheck.Single<Gelu>(x, new FunctionCheckOptions { BatchedInputs = ["x"] }).Passed;
    }

    [GlobalCleanup]
    public void Cleanup() => x.Dispose();

    /// <summary>GELU(x) = x·Φ(x) with its hand-written backward Φ(x) + x·φ(x).</summary>
    public sealed class Gelu : autograd.SingleTensorFunction<Gelu>
    {
        public override string Name => "Gelu";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            ctx.save_for_backward([x]);
            return 0.5 * x * (1 + (x / Math.Sqrt(2)).erf());
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var x = ctx.get_saved_variables()[0];
            return [grad_output * (0.5 * (1 + (x / Math.Sqrt(2)).erf()) + x * (-0.5 * x * x).exp() / Math.Sqrt(2 * Math.PI))];
        }
    }
}
