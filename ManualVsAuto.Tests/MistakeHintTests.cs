using ManualVsAuto.Backward;
using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>Each diagnostic hint is triggered by a purpose-made mistake on the lecture's MLP.</summary>
public class MistakeHintTests : IDisposable
{
    private readonly LectureBatch batch = new();
    private GradientCheck check => batch.Check;
    private ForwardState f => batch.F;
    private IReadOnlyDictionary<string, Tensor> d => batch.D;

    public void Dispose() => batch.Dispose();

    private GradientRow Fails(string name, Tensor manual)
    {
        var row = check.Compare(name, manual);
        Assert.False(row.Approximate);
        Assert.NotNull(row.Hint);
        return row;
    }

    [Fact]
    public void CorrectRowsHaveNoHint() => Assert.Null(check.Compare("W1", d["W1"]).Hint);

    [Fact]
    public void KeepdimMistakeIsNamedInTheShapeMismatchRow()
    {
        var row = check.Compare("bnbias", d["hpreact"].sum(0, keepdim: false));
        Assert.Equal(Verdict.ShapeMismatch, row.Verdict);
        Assert.Contains("keepdim", row.Hint);
        Assert.DoesNotContain("wrong dimension", row.Hint);
    }

    [Fact]
    public void ReductionOverTheWrongDimensionIsNamedAndIsNotCalledKeepdim()
    {
        // dbnmeani summed over the features instead of the batch: (32, 1) where bnmeani is (1, 64).
        var row = check.Compare("bnmeani", -d["bndiff"].sum(1, keepdim: true));
        Assert.Equal(Verdict.ShapeMismatch, row.Verdict);
        Assert.Contains("wrong dimension", row.Hint);
        Assert.DoesNotContain("keepdim", row.Hint);
    }

    [Fact]
    public void TransposedShapeIsNamed()
    {
        var row = check.Compare("W2", d["W2"].t());
        Assert.Equal(Verdict.ShapeMismatch, row.Verdict);
        Assert.Contains("transposed", row.Hint);
        Assert.DoesNotContain("keepdim", row.Hint);
    }

    [Fact]
    public void TransposedSquareMatmulIsNamed()
    {
        // dW = x.T @ dy vs dy.T @ x for a square weight: same shape, transposed values.
        using var s = NewDisposeScope();
        var x = randn(8, 5, dtype: ScalarType.Float64);
        var W = randn(5, 5, dtype: ScalarType.Float64).requires_grad_(true);
        var c = new GradientCheck();
        c.Track("W", W);
        var y = x.matmul(W);
        var loss = (y * y).sum();
        c.Backward(loss);
        var dy = 2 * y.detach();
        var row = c.Compare("W", dy.t().matmul(x));
        Assert.False(row.Approximate);
        Assert.Contains("transpose", row.Hint);
    }

    [Fact]
    public void SignErrorIsNamed() => Assert.Contains("sign error", Fails("h", -d["h"]).Hint);

    [Fact]
    public void FactorOfNIsNamed()
    {
        // Forgetting the 1/n of the mean: every gradient is n = 32 times too large.
        var hint = Fails("logits", d["logits"] * 32).Hint!;
        Assert.Contains("factor of 32", hint);
        Assert.Contains("1/n", hint);
    }

    [Fact]
    public void OtherConstantFactorIsNamed() => Assert.Contains("constant factor", Fails("W2", d["W2"] * 1.5).Hint);

    [Fact]
    public void MissingBroadcastPathIsNamed()
    {
        // counts also feeds counts_sum; without that path the difference is constant along each row.
        var hint = Fails("counts", d["probs"] * f.counts_sum_inv).Hint!;
        Assert.Contains("missing path", hint);
        Assert.Contains("used twice", hint);
    }

    [Fact]
    public void MissingMaxPathIsNamed()
    {
        // In the lecture dlogit_maxes is ~0 (softmax rows sum to 1), so dropping it goes unnoticed there;
        // here x feeds a max that matters: without that path the difference sits on each row's argmax.
        using var s = NewDisposeScope();
        var x = randn(6, 5, dtype: ScalarType.Float64).requires_grad_(true);
        var c = new GradientCheck();
        c.Track("x", x);
        var loss = (x * x).sum() + 3.0 * x.max(1, keepdim: false).values.sum();
        c.Backward(loss);
        var row = c.Compare("x", 2 * x.detach());
        Assert.False(row.Approximate);
        Assert.Contains("max", row.Hint);
    }

    [Fact]
    public void AllZeroGradientIsNamed() => Assert.Contains("all zeros", Fails("C", zeros_like(d["C"])).Hint);

    [Fact]
    public void DiagnosticsLocateTheWorstElement()
    {
        var wrong = d["W1"].clone();
        wrong[3, 7] = wrong[3, 7] + 0.5f;
        var row = check.Compare("W1", wrong);
        Assert.False(row.Approximate);
        Assert.Equal(new long[] { 3, 7 }, row.WorstIndex);
        Assert.Equal(1, row.Mismatches);
        Assert.Equal(1, row.NotClose);
        Assert.Equal(0.5, row.MaxDiff, 5);
        Assert.Equal(row.ReferenceAtWorst + 0.5, row.ManualAtWorst, 5);
        Assert.True(row.Ulps > 1000);
    }

    [Fact]
    public void UlpDistanceCountsRepresentableFloats()
    {
        Assert.Equal(0, Ulp.Distance(1f, 1f));
        Assert.Equal(1, Ulp.Distance(1f, MathF.BitIncrement(1f)));
        Assert.Equal(2, Ulp.Distance(-float.Epsilon, float.Epsilon));
        Assert.Equal(1, Ulp.Distance(1.0, Math.BitIncrement(1.0)));
        Assert.Equal(0, Ulp.Distance(0.0, -0.0));
    }
}
