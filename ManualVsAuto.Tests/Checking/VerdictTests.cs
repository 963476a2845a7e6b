using ManualVsAuto.Checking;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// Verdicts through the public API with the step form: a true gradient of 0 is rounding noise (decided in float64),
/// float32 alone cannot decide it, a wrong formula is still wrong, and a mistake's origin is told from the rows that
/// inherit it.
/// </summary>
public class VerdictTests : IDisposable
{
    private readonly IDisposable scope = NewDisposeScope();

    public void Dispose() => scope.Dispose();

    private const long N = 8, D = 5;

    /// <summary>
    /// A centring layer, like batchnorm's: h = hpre − mean(hpre) with hpre = x + b, so the loss does not depend on b
    /// at all and its true gradient is 0. The upstream gradient is large (1e6), so float32's rounding noise in
    /// autograd's db is far above allclose's atol.
    /// </summary>
    private static (GradientCheck Check, Tensor Loss, Dictionary<string, Tensor> Manual) Centring(ScalarType dtype, bool missingPath, GradientCheck? check = null)
    {
        var g = new Generator(7);
        var x = randn(N, D, generator: g).to_type(dtype);
        var w = (randn(N, D, generator: g) * 1e6).to_type(dtype);
        var b0 = randn(D, generator: g).to_type(dtype).requires_grad_(true);
        check ??= new GradientCheck();
        check.Step("b", _ => b0);
        var hpre = check.Step("hpre", v => x + v("b"));
        var hmean = check.Step("hmean", v => v("hpre").mean([0], keepdim: true));
        var h = check.Step("h", v => v("hpre") - v("hmean"));
        var loss = (h * w).sum();
        using var _ = no_grad();
        var dh = w;
        var dhmean = -dh.sum(0, keepdim: true);
        var dhpre = missingPath ? dh.clone() : dh + dhmean.expand_as(hpre) / N;
        // The manual db: exactly 0 (b cancels) when right, the sum of dh when the mean's path is missing.
        var db = missingPath ? dhpre.sum(0, keepdim: false) : zeros(D, dtype: dtype);
        return (check, loss, new() { ["h"] = dh, ["hmean"] = dhmean, ["hpre"] = dhpre, ["b"] = db });
    }

    private static GradientCheck Run(bool missingPath, bool withFloat64, bool replay = true)
    {
        var (check, loss, manual) = Centring(ScalarType.Float32, missingPath);
        check.ReplayInFloat64 = replay;
        check.Backward(loss);
        if (withFloat64)
            check.DecideInFloat64(c64 =>
            {
                var (_, loss64, manual64) = Centring(ScalarType.Float64, missingPath, c64);
                return new Float64Run(loss64, manual64);
            });
        foreach (var name in new[] { "h", "hmean", "hpre", "b" }) check.Compare(name, manual[name]);
        return check;
    }

    [Fact]
    public void TrueZeroGradientIsRoundingNoiseDecidedInFloat64()
    {
        var check = Run(missingPath: false, withFloat64: true);
        var b = check.Rows.Single(r => r.Name == "b");
        Assert.False(b.Approximate); // float32 noise of a 1e6 gradient: far outside allclose
        Assert.Equal(Verdict.RoundingNoise, b.Verdict);
        Assert.Contains("float64 rerun", b.Evidence);
        Assert.True(b.Passed);
        check.AssertAllClose();
        var e = Assert.Throws<GradientAssertionException>(check.AssertAllExact); // noise is not bitwise equal
        Assert.Equal(["b"], e.FailingRows.Select(r => r.Name));
        Assert.Contains("1 rounding noise (true gradient 0)", check.Summary);
    }

    [Fact]
    public void WithoutARerunTheCheckersOwnFloat64ReplayDecidesTheTrueZero()
    {
        var check = Run(missingPath: false, withFloat64: false);
        var b = check.Rows.Single(r => r.Name == "b");
        Assert.Equal(Verdict.RoundingNoise, b.Verdict);
        Assert.StartsWith("float64 replay:", b.Evidence);
        check.AssertAllClose();
        // The neighbouring mistake is not excused by the replay: the missing path is wrong at hpre.
        var wrong = Run(missingPath: true, withFloat64: false);
        Assert.Equal((Verdict.Wrong, true), (wrong.Rows.Single(r => r.Name == "hpre").Verdict, wrong.Rows.Single(r => r.Name == "hpre").DecidedLocally));
        Assert.Equal(["hpre"], wrong.Rows.Single(r => r.Name == "b").InheritsFrom);
    }

    [Fact]
    public void WithTheReplaySwitchedOffFloat32CannotDecideAndDoesNotPass()
    {
        var check = Run(missingPath: false, withFloat64: false, replay: false);
        var b = check.Rows.Single(r => r.Name == "b");
        Assert.Equal(Verdict.Undecided, b.Verdict);
        Assert.Equal("float32 cannot decide", b.VerdictText);
        Assert.Contains("DecideInFloat64", b.Evidence);
        Assert.False(b.Passed);
        Assert.Contains("1 float32 cannot decide", check.Summary);
    }

    [Fact]
    public void AWrongFormulaForTheZeroGradientIsNotNoise()
    {
        // The neighbouring mistake: the mean's path is missing, so db is the sum of dh instead of 0.
        var check = Run(missingPath: true, withFloat64: true);
        var hpre = check.Rows.Single(r => r.Name == "hpre");
        Assert.Equal((Verdict.Wrong, true), (hpre.Verdict, hpre.DecidedLocally));
        Assert.Contains("missing path", hpre.Hint);
        var b = check.Rows.Single(r => r.Name == "b");
        Assert.Equal(Verdict.Inherits, b.Verdict);
        Assert.Equal(["hpre"], b.InheritsFrom);
        Assert.Equal("inherits ← hpre", b.VerdictText);
        Assert.EndsWith("1 mistake, at hpre (a missing path); 1 row inherits it", check.Summary);
        var e = Assert.Throws<GradientAssertionException>(check.AssertAllClose);
        Assert.StartsWith("AssertAllClose failed: 2 of 4 gradients are not allclose to autograd's (rtol 1e-5, atol 1e-8) and right in float64:", e.Message);
    }

    [Fact]
    public void ParametersAndStepsMixWithPlainTrack()
    {
        // Track and Step in one check: the step reads a tracked tensor by name.
        var check = new GradientCheck();
        var x = check.Track("x", randn(4, 3).requires_grad_(true));
        var y = check.Step("y", v => v("x") * 2);
        check.Backward(y.sum());
        var row = check.Compare("x", -2 * ones(4, 3));
        Assert.Equal((Verdict.Wrong, true), (row.Verdict, row.DecidedLocally));
        Assert.Contains("sign error", row.Hint);
        Assert.Equal("WRONG here", row.VerdictText);
        Assert.Same(x, check["x"]);
    }

    [Fact]
    public void StepReadingAnUntrackedNameIsAnErrorNamingIt()
    {
        var check = new GradientCheck();
        var e = Assert.Throws<GradientCheckException>(() => check.Step("y", v => v("x") * 2));
        Assert.Contains("'x' was never tracked", e.Message);
    }
}
