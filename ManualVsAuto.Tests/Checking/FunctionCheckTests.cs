using ManualVsAuto.Checking;
using TorchSharp;
using Xunit.Abstractions;
using static ManualVsAuto.Tests.Planted;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Tests;

/// <summary>
/// The rule test of custom autograd Functions: correct Functions pass every rule; each planted mistake fails its own
/// rule with its own message and no other rule (numeric rows it explains are marked so, not counted).
/// </summary>
public class FunctionCheckTests(ITestOutputHelper output)
{
    private static Tensor Randn(ulong seed, params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: new Generator(seed));

    private static readonly FunctionCheckOptions Batched = new() { BatchedInputs = ["x"] };

    private FunctionCheckResult Log(FunctionCheckResult r)
    {
        output.WriteLine(r.ToText());
        return r;
    }

    private void PassesEveryRule(FunctionCheckResult r, params FunctionRule[] expected)
    {
        Log(r);
        Assert.True(r.Passed, r.Summary);
        Assert.DoesNotContain(r.Rows, row => row.Status is RuleStatus.Explained or RuleStatus.Excused);
        foreach (var rule in expected) Assert.Contains(r.Rows, row => row.Rule == rule && row.Status == RuleStatus.Pass);
    }

    /// <summary>Exactly one rule fails, every failing row says <paramref name="says"/>, and no row of another rule fails.</summary>
    private void FailsOnly(FunctionCheckResult r, FunctionRule rule, string says)
    {
        Log(r);
        Assert.False(r.Passed);
        Assert.Equal([rule], r.FailedRules);
        Assert.All(r.Failures, f => Assert.Contains(says, f.Message));
    }

    private static readonly FunctionRule[] Structural =
        [FunctionRule.Runs, FunctionRule.Mutation, FunctionRule.Alias, FunctionRule.Gradient, FunctionRule.Repeat, FunctionRule.ZeroGradOutput];

    // ---- correct Functions pass ----------------------------------------------------------------------------------

    [Fact]
    public void CorrectGelu_PassesEveryRule_IncludingBatchAndReference()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<GeluFn>(Randn(1, 8, 10), Batched with { Reference = xs => [F.gelu(xs[0])] });
        PassesEveryRule(r, [.. Structural, FunctionRule.Batch, FunctionRule.Reference]);
        Assert.Contains(r.Skipped, s => s.StartsWith("undefined grad_output", StringComparison.Ordinal));
    }

    [Fact]
    public void CorrectSoftplus_PassesEveryRule_IncludingSecondOrder()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<SoftplusFn>(Randn(2, 8, 10), Batched with { SecondOrder = true });
        PassesEveryRule(r, [.. Structural, FunctionRule.Batch, FunctionRule.SecondOrder]);
    }

    [Fact]
    public void CorrectGelu_AsDelegates_Passes()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Of("gelu", xs => [Gelu(xs[0])], (xs, ys, gs) => [gs[0] * GeluDerivative(xs[0])],
            [("x", Randn(3, 8, 10))], Batched);
        PassesEveryRule(r, [.. Structural, FunctionRule.Batch]);
    }

    [Fact]
    public void MatMul_BatchedInputAndSharedWeight_Pass()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<MatMul>([("x", Randn(4, 6, 3)), ("W", Randn(5, 3, 4))], Batched);
        PassesEveryRule(r, [.. Structural, FunctionRule.Batch]);
        Assert.Contains(r.Rows, row => row is { Rule: FunctionRule.Batch, Input: "W", Status: RuleStatus.Pass } && row.Message.Contains("sum"));
    }

    [Fact]
    public void SinCos_HandlesUndefinedGradOutputs_Passes()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Multi<SinCos>(Randn(6, 4, 5));
        PassesEveryRule(r, [.. Structural, FunctionRule.UndefinedGradOutput]);
        // every input × every output: one gradient row per output
        Assert.Equal(["y0", "y1"], r.Rows.Where(row => row.Rule == FunctionRule.Gradient).Select(row => row.Output));
    }

    // ---- each planted mistake fails its own rule only ---------------------------------------------------------------

    [Fact]
    public void NotMultipliedByGradOutput_FailsZeroGradOutput_WithItsOwnMessage()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<GeluNotMultiplied>(Randn(7, 8, 10), Batched);
        FailsOnly(r, FunctionRule.ZeroGradOutput, "not multiplied by grad_output");
        // finite differences with a random cotangent see it too; that row is explained by the rule above
        Assert.Contains(r.Rows, row => row is { Rule: FunctionRule.Gradient, Status: RuleStatus.Explained });
    }

    [Fact]
    public void MutatesItsInput_FailsMutation_NamingTheInput()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<SoftplusMutatesInput>(Randn(8, 8, 10), Batched);
        FailsOnly(r, FunctionRule.Mutation, "the backward changed input x in place");
        var row = Assert.Single(r.Failures);
        Assert.NotNull(row.Index);
        Assert.NotEqual(row.Expected, row.Actual);
    }

    [Fact]
    public void MutatesGradOutput_FailsMutation_NamingGradOutput()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<GeluMutatesGradOutput>(Randn(9, 8, 10), Batched);
        FailsOnly(r, FunctionRule.Mutation, "the backward changed grad_output of y in place");
        Assert.Contains("returned it as the gradient of x", Assert.Single(r.Failures).Message);
    }

    [Fact]
    public void AccumulatesAcrossCalls_FailsRepeat()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<GeluAccumulates>(Randn(10, 8, 10), Batched);
        FailsOnly(r, FunctionRule.Repeat, "accumulates across calls: the second call returned twice the first");
    }

    [Fact]
    public void RowsLeakAcrossTheBatch_FailsBatch()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<GeluLeaksRows>(Randn(11, 8, 10), Batched);
        FailsOnly(r, FunctionRule.Batch, "rows leak across the batch");
        Assert.Contains(r.Rows, row => row is { Rule: FunctionRule.Gradient, Status: RuleStatus.Explained });
    }

    [Fact]
    public void WrongFormula_FailsGradient_NamingInputOutputElementAndBothValues()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<GeluWrongFormula>(Randn(12, 8, 10), Batched);
        FailsOnly(r, FunctionRule.Gradient, "the gradient of y w.r.t. x at [");
        var row = Assert.Single(r.Failures);
        Assert.Equal(("x", "y"), (row.Input, row.Output));
        Assert.NotNull(row.Index);
        // the oracle's value is GELU's true derivative times the cotangent, not the backward's
        Assert.Contains($"finite differences of the forward {NumberFormat.Value(row.Expected!.Value)}", row.Message);
        Assert.Contains($"the backward gives {NumberFormat.Value(row.Actual!.Value)}", row.Message);
    }

    [Fact]
    public void WrongFormula_WithReference_FailsGradientAndReference()
    {
        using var _ = NewDisposeScope();
        var r = Log(FunctionCheck.Single<GeluWrongFormula>(Randn(12, 8, 10), new FunctionCheckOptions { Reference = xs => [F.gelu(xs[0])] }));
        Assert.Equal([FunctionRule.Gradient, FunctionRule.Reference], r.FailedRules);
        Assert.Contains(r.Failures, f => f.Message.Contains("autograd of the reference"));
    }

    [Fact]
    public void ReturnsItsInput_FailsAlias()
    {
        using var _ = NewDisposeScope();
        var r = Log(FunctionCheck.Single<ReturnsInput>(Randn(13, 4, 5)));
        // Returning x also ignores grad_output: a gradient that is an input's own tensor cannot depend on it.
        Assert.Equal([FunctionRule.Alias, FunctionRule.ZeroGradOutput], r.FailedRules);
        Assert.Contains("the gradient of x is a view of input x itself", r.Failures[0].Message);
    }

    [Fact]
    public void DetachedBackward_FailsSecondOrder_Only()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<SoftplusDetached>(Randn(14, 4, 5), new FunctionCheckOptions { SecondOrder = true });
        FailsOnly(r, FunctionRule.SecondOrder, "autograd through the backward gives 0");
    }

    [Fact]
    public void SecondOrder_IsOptIn()
    {
        using var _ = NewDisposeScope();
        var r = Log(FunctionCheck.Single<SoftplusDetached>(Randn(14, 4, 5)));
        Assert.True(r.Passed);
        Assert.Contains(r.Skipped, s => s.StartsWith("second order", StringComparison.Ordinal));
    }

    [Fact]
    public void UndefinedGradOutputNotHandled_FailsUndefinedGradOutput_Only()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Multi<SinCosAssumesDefined>(Randn(15, 4, 5));
        FailsOnly(r, FunctionRule.UndefinedGradOutput, "the backward threw with the grad_output of");
        Assert.Equal(2, r.Failures.Count); // once per output left undefined
    }

    [Fact]
    public void ThrowingBackward_IsAFailingRow_NotACrash()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<Throws>(Randn(16, 4, 5));
        FailsOnly(r, FunctionRule.Runs, "the backward threw: InvalidOperationException: backward not written yet");
        Assert.Contains(r.Skipped, s => s.Contains("does not run"));
    }

    [Fact]
    public void ThrowingForward_IsAFailingRow()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Of("broken", _ => throw new ArgumentException("no forward"), (xs, ys, gs) => [gs[0]], [("x", Randn(16, 3))]);
        FailsOnly(r, FunctionRule.Runs, "the forward threw: ArgumentException: no forward");
    }

    // ---- kinks: finite differences unreliable, not failures ----------------------------------------------------

    [Fact]
    public void ReluAtAKink_IsExcused_NotFailed()
    {
        using var _ = NewDisposeScope();
        var x = Randn(17, 8, 10);
        x[0, 0] = 0.0;
        x[3, 7] = 0.0;
        var r = Log(FunctionCheck.Single<ReluFn>(x, Batched));
        Assert.True(r.Passed, r.Summary);
        var row = Assert.Single(r.Rows, row => row.Rule == FunctionRule.Gradient);
        Assert.Equal(RuleStatus.Excused, row.Status);
        Assert.Contains("finite differences unreliable here at 2 of 80 elements", row.Message);
        Assert.Contains("first at [0, 0]", row.Message);
    }

    [Fact]
    public void ReluAtAKink_WithAWrongValueThere_IsNotExcused()
    {
        using var _ = NewDisposeScope();
        var x = Randn(17, 8, 10);
        x[0, 0] = 0.0;
        // relu's backward with 2 (outside both one-sided slopes, 0 and 1) at x = 0
        var r = Log(FunctionCheck.Of("relu with 2 at 0", xs => [F.relu(xs[0])],
            (xs, ys, gs) => [gs[0] * xs[0].gt(0).to_type(ScalarType.Float64) + gs[0] * xs[0].eq(0).to_type(ScalarType.Float64) * 2],
            [("x", x)]));
        Assert.Equal([FunctionRule.Gradient], r.FailedRules);
        Assert.Equal(new long[] { 0, 0 }, Assert.Single(r.Failures).Index);
    }

    [Fact]
    public void TooManyKinks_BeyondTheCap_Fail()
    {
        using var _ = NewDisposeScope();
        var x = Randn(18, 4, 5);
        x[0] = 0.0; // 5 of 20 elements at the kink: 25% > the 10% cap
        var r = Log(FunctionCheck.Single<ReluFn>(x));
        Assert.Equal([FunctionRule.Gradient], r.FailedRules);
        Assert.Contains("finite differences unreliable at 5 of 20 elements (kinks), more than the 10", Assert.Single(r.Failures).Message);
    }

    // ---- the assertion and bad input ------------------------------------------------------------------------------

    [Fact]
    public void Assert_ThrowsWithTheFailingRowsTable()
    {
        using var _ = NewDisposeScope();
        var r = FunctionCheck.Single<GeluWrongFormula>(Randn(12, 8, 10));
        var e = Assert.Throws<GradientAssertionException>(r.Assert);
        output.WriteLine(e.Message);
        Assert.StartsWith("Rule test of GeluWrongFormula failed: 1 row fails:", e.Message);
        var row = Assert.Single(e.FailingRules);
        Assert.Contains($"Gradient  fail    x      y       {row.IndexText}", e.Message);
        FunctionCheck.Single<GeluFn>(Randn(12, 8, 10)).Assert(); // a passing one does not throw
    }

    [Fact]
    public void TheCallersTensorsAreNotModified()
    {
        using var _ = NewDisposeScope();
        var x = Randn(19, 4, 5).to_type(ScalarType.Float32);
        var copy = x.clone();
        var r = FunctionCheck.Single<SoftplusMutatesInput>(x);
        Assert.Equal([FunctionRule.Mutation], r.FailedRules);
        Assert.True(InputMutation.BitwiseEqual(x, copy));
    }

    [Fact]
    public void BadInput_IsAOneLineError()
    {
        using var _ = NewDisposeScope();
        var x = Randn(20, 4, 5);
        Assert.Contains("is Int64", Assert.Throws<GradientCheckException>(() => FunctionCheck.Single<GeluFn>(x.to_type(ScalarType.Int64))).Message);
        Assert.Contains("names 'z', which is no input",
            Assert.Throws<GradientCheckException>(() => FunctionCheck.Single<GeluFn>(x, new FunctionCheckOptions { BatchedInputs = ["z"] })).Message);
        Assert.Contains("given twice",
            Assert.Throws<GradientCheckException>(() => FunctionCheck.Single<MatMul>([("x", x), ("x", x)])).Message);
    }

    [Fact]
    public void LecturesSize_32x200_SamplesFiniteDifferences_AndPasses()
    {
        using var _ = NewDisposeScope();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var r = FunctionCheck.Single<GeluFn>(Randn(21, 32, 200), Batched);
        output.WriteLine($"{watch.ElapsedMilliseconds} ms (timed by Benchmarks/FunctionCheckBenchmark)");
        PassesEveryRule(r, [.. Structural, FunctionRule.Batch]);
        Assert.Contains($"at {FunctionCheckOptions.DefaultMaxElementsPerInput} elements",
            Assert.Single(r.Rows, row => row.Rule == FunctionRule.Gradient).Message);
    }

    /// <summary>The library guide's example ("Custom autograd Functions"), and the message it shows for sigmoid_.</summary>
    [Fact]
    public void GuideExample_SoftplusPasses_AndItsInPlaceVariantShowsTheGuidesMessage()
    {
        using var scope = NewDisposeScope();
        var x = randn(32, 200, generator: new Generator(42));
        FunctionCheck.Single<SoftplusFn>(x, new FunctionCheckOptions { BatchedInputs = ["x"] }).Assert();

        var r = FunctionCheck.Single<SoftplusMutatesInput>(x, new FunctionCheckOptions { BatchedInputs = ["x"] });
        var e = Assert.Throws<GradientAssertionException>(r.Assert);
        output.WriteLine(e.Message);
        Assert.Equal(FunctionRule.Mutation, Assert.Single(e.FailingRules).Rule);
    }
}
