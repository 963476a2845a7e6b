using ManualVsAuto.Checking;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// check's comparison at a given tolerance: the training tolerance (relative to the gradient's largest element) passes
/// what allclose wrongly fails on a correct fused gradient, and still fails a gradient that is off by a factor.
/// </summary>
public class ToleranceTests : IDisposable
{
    private readonly IDisposable scope = NewDisposeScope();

    public void Dispose() => scope.Dispose();

    /// <summary>A gradient whose largest element is 1 and whose element 3 is small (1e-3), as cancellation leaves it.</summary>
    private static Tensor Reference() => tensor(new float[] { 1f, -0.5f, 0.25f, 1e-3f, 0.75f });

    /// <summary>A reference with a NaN or an infinity (autograd's gradient of a blown-up net) gives a failing row, not a
    /// libtorch error; the other elements are still judged against the largest finite one.</summary>
    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void ANonFiniteReferenceElementFailsAsARow(float bad)
    {
        var r = Reference();
        r[2] = bad;
        var same = Cmp.CompareValues("g", r.clone(), r, Tolerance.Training);
        Assert.Equal(float.IsNaN(bad), !same.Passed); // NaN is never close, not even to NaN; an equal infinity is
        var m = r.clone();
        m[2] = 0.25f;
        Assert.False(Cmp.CompareValues("g", m, r, Tolerance.Training).Passed);
        var off = r.clone();
        off[0] = 1.001f; // 1e-3 off the largest finite element, 1: beyond 1e-6 + 1e-4·1
        if (float.IsPositiveInfinity(bad)) Assert.False(Cmp.CompareValues("g", off, r, Tolerance.Training).Passed);
    }

    [Fact]
    public void ASmallElementIsJudgedAgainstTheLargestNotItself()
    {
        var r = Reference();
        // 3e-5 off on the small element: 3% of itself, 3e-5 of the largest element (within 1e-4).
        var m = r.clone();
        m[3] = m[3] + 3e-5f;
        var training = Cmp.CompareValues("g", m, r, Tolerance.Training);
        Assert.Equal(Verdict.Approximate, training.Verdict);
        Assert.True(training.Passed);
        Assert.Same(Tolerance.Training, training.Tolerance);
        Assert.InRange(training.ToleranceUsed, 0.25, 0.35); // 3e-5 of (1e-6 + 1e-4·1)
        var allclose = Cmp.CompareValues("g", m, r);
        Assert.Equal(Verdict.Wrong, allclose.Verdict);
        Assert.Same(Tolerance.AllClose, allclose.Tolerance);
        Assert.True(allclose.ToleranceUsed > 1);
    }

    [Fact]
    public void AScaledGradientFailsWithChecksHintAndANearlyRightOnePasses()
    {
        var r = Reference();
        var scaled = Cmp.CompareValues("g", r * 1.01f, r, Tolerance.Training); // 1e-2 of the largest element
        Assert.Equal(Verdict.Wrong, scaled.Verdict);
        Assert.False(scaled.Passed);
        Assert.Equal(4, scaled.NotClose); // every element but the small one: 1e-5 off, inside 1e-4 of the largest
        Assert.Contains("off by a constant factor", scaled.Hint);
        Assert.Equal("WRONG (likely origin)", scaled.VerdictText);

        var nearly = Cmp.CompareValues("g", r * 1.00005f, r, Tolerance.Training); // 5e-5 of the largest element
        Assert.True(nearly.Passed);
        Assert.Null(nearly.Hint);
    }

    /// <summary>b1 under batchnorm: the true gradient is 0 and both sides are float32 noise near 1e-8.</summary>
    [Fact]
    public void RoundingNoiseOnAZeroGradientPassesOnlyTheTrainingTolerance()
    {
        var r = tensor(new float[] { 4e-9f, -7e-9f, 1.2e-8f });
        var m = tensor(new float[] { -3e-9f, 5e-9f, 9e-9f });
        Assert.True(Cmp.CompareValues("b1", m, r, Tolerance.Training).Passed);
        Assert.False(Cmp.CompareValues("b1", m, r).Passed);
        // A real gradient that is missing entirely is not noise.
        Assert.False(Cmp.CompareValues("b1", zeros(3), tensor(new float[] { 2e-3f, -1e-3f, 5e-4f }), Tolerance.Training).Passed);
    }

    [Fact]
    public void TheRulesReadAsTheyAreApplied()
    {
        Assert.Equal("|manual − autograd| ≤ 1e-6 + 1e-4·max|autograd|", Tolerance.Training.Text);
        Assert.Equal("allclose (rtol 1e-5, atol 1e-8)", Tolerance.AllClose.Text);
    }
}
