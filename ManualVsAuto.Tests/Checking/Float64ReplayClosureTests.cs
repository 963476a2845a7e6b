using ManualVsAuto.Checking;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// What the float64 replay does with what a step's closure holds: a captured float32 tensor is swapped for a float64
/// copy while the step runs and put back; a module (whose parameters it cannot swap) makes the row undecided with the
/// reason, never a crash (libtorch's matmul on mixed dtypes ends the process).
/// </summary>
public class Float64ReplayClosureTests : IDisposable
{
    private readonly IDisposable scope = NewDisposeScope();

    public void Dispose() => scope.Dispose();

    /// <summary>y = tanh(x·W) with x captured; the manual dW without the fused tanh form, scaled to leave allclose.</summary>
    private static (GradientCheck Check, Tensor X) Run(double factor, Func<Tensor, Tensor>? through = null)
    {
        var g = new Generator(5);
        var x = randn([16, 8], generator: g);
        var W = randn([8, 4], generator: g).requires_grad_();
        var check = new GradientCheck();
        check.Step("W", _ => W);
        var h = check.Step("h", v => (through ?? (t => t))(x.matmul(v("W"))));
        var y = check.Step("y", v => v("h").tanh());
        check.Backward((y * y).sum());
        using (no_grad())
        {
            var dy = 2 * y;
            var dh = (1 - y * y) * dy;
            check.Compare("y", dy);
            check.Compare("h", dh);
            check.Compare("W", x.t().matmul(dh) * factor);
        }
        return (check, x);
    }

    [Fact]
    public void ACapturedTensorIsSwappedForTheReplayAndPutBack()
    {
        var (check, x) = Run(factor: 1 + 1e-3); // not allclose: decided by the replay, wrong
        var w = check.Rows.Single(r => r.Name == "W");
        Assert.Equal(Verdict.Wrong, w.Verdict);
        Assert.Equal(ScalarType.Float32, x.dtype); // the user's tensor is the user's again
        var (right, _) = Run(factor: 1);
        Assert.All(right.Rows, r => Assert.True(r.Passed, $"{r.Name}: {r.VerdictText} {r.Evidence}"));
    }

    [Fact]
    public void AModuleInAClosureIsRefusedWithTheReasonNotRun()
    {
        using var linear = nn.Linear(4, 4);
        var (check, _) = Run(factor: 1 + 1e-4, t => t + 0 * linear.forward(t)); // the module's float32 weights would meet float64 input
        var w = check.Rows.Single(r => r.Name == "W");
        Assert.NotEqual(Verdict.Exact, w.Verdict);
        Assert.Contains("holds a module (Linear)", w.Evidence ?? "");
    }
}
