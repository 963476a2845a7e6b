using ManualVsAuto.Backward;
using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>The checker can fail: deliberately wrong gradients are reported as such.</summary>
public class CheckerCatchesMistakesTests : IDisposable
{
    private readonly LectureBatch batch = new();
    private GradientCheck check => batch.Check;
    private ForwardState f => batch.F;
    private IReadOnlyDictionary<string, Tensor> manual => batch.D;

    public void Dispose() => batch.Dispose();

    [DataFact]
    public void CorrectGradientIsExact() => Assert.True(check.Compare("h", manual["h"]).Exact);

    [DataFact]
    public void ScaledGradientIsNeitherExactNorApproximate()
    {
        var row = check.Compare("h", manual["h"] * 1.5);
        Assert.False(row.Exact);
        Assert.False(row.Approximate);
        Assert.True(row.MaxDiff > 0);
    }

    [DataFact]
    public void OneUlpOffIsApproximateButNotExact()
    {
        var nudged = manual["W2"].nextafter(full_like(manual["W2"], double.PositiveInfinity));
        var row = check.Compare("W2", nudged);
        Assert.False(row.Exact);
        Assert.True(row.Approximate);
    }

    [DataFact]
    public void WrongKeepdimIsAFailingShapeMismatchRowNamingBothShapes()
    {
        // The lecture's dbnmeani = (-dbndiff).sum(0): shape (64) where bnmeani is (1, 64).
        var wrong = -manual["bndiff"].sum(0, keepdim: false);
        var row = check.Compare("bnmeani", wrong);
        Assert.Equal(Verdict.ShapeMismatch, row.Verdict);
        Assert.False(row.Passed);
        Assert.Contains("(64)", row.Hint);
        Assert.Contains("(1, 64)", row.Hint);
        Assert.Equal("bnmeani", row.Name);
        Assert.Throws<GradientAssertionException>(check.AssertAllClose);
    }

    [DataFact]
    public void ManualGradientOfAnotherDtypeIsADtypeMismatchNotExact()
    {
        // Converted to float32, the float64 gradient of h would round to autograd's exactly: that must not pass.
        var row = check.Compare("h", manual["h"].to_type(ScalarType.Float64));
        Assert.Equal(Verdict.DtypeMismatch, row.Verdict);
        Assert.False(row.Exact);
        Assert.False(row.Passed);
        Assert.Contains("Float64", row.Hint);
    }

    [DataFact]
    public void MissingSecondPathIntoCountsIsNotApproximate()
    {
        // counts feeds probs and counts_sum; dropping the counts_sum path leaves only one term.
        var onePath = manual["probs"] * f.counts_sum_inv;
        var row = check.Compare("counts", onePath);
        Assert.False(row.Approximate);
    }

    [DataFact]
    public void MissingSecondPathIntoBndiffIsNotApproximate()
    {
        var onePath = manual["bnraw"] * f.bnvar_inv;
        Assert.False(check.Compare("bndiff", onePath).Approximate);
    }

    [DataFact]
    public void TensorWithoutRetainedGradientIsAnErrorNamingIt()
    {
        var x = randn(3, 3).requires_grad_(true);
        var y = x * 2; // no retain_grad
        y.sum().backward();
        var e = Assert.Throws<GradientCheckException>(() => Cmp.Compare("y", ones(3, 3), y));
        Assert.Contains("'y'", e.Message);
        Assert.Contains("retain_grad", e.Message);
    }

    [DataFact]
    public void UnknownNameIsAnError()
    {
        var e = Assert.Throws<GradientCheckException>(() => check.Compare("hpreac", manual["hpreact"]));
        Assert.Contains("hpreac", e.Message);
    }
}
