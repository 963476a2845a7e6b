using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// The float64 side of a check: the user's rerun (<see cref="GradientCheck.DecideInFloat64"/>), made once when a
/// float32 row first needs it, and the rule that proves a row right in float64.
/// </summary>
internal sealed class Float64Decision
{
    private Func<GradientCheck, Float64Run>? rerun;
    private Float64Side? side;
    private bool done;

    /// <summary>The float64 forward's tape (with autograd's float64 gradients) and the manual float64 gradients by row label.</summary>
    internal sealed record Float64Side(StepTape Tape, IReadOnlyDictionary<string, Tensor> Manual);

    public bool HasRerun => rerun is not null;

    public void Use(Func<GradientCheck, Float64Run> run)
    {
        rerun = run;
        done = false;
        side = null;
    }

    /// <summary>The float64 rerun, made once, when first needed; null without one.</summary>
    public Float64Side? Side()
    {
        if (done || rerun is null) return side;
        done = true;
        var c = new GradientCheck();
        var r = rerun(c);
        if (r.Loss.dtype != ScalarType.Float64)
            throw new GradientCheckException($"the float64 rerun returned a {r.Loss.dtype} loss: convert the parameters and the batch to float64.");
        c.Backward(r.Loss);
        side = new Float64Side(c.Tape, r.Manual);
        return side;
    }

    /// <summary>
    /// A row that float64 proves right — rounding noise (a true gradient of 0) or within <see cref="GradientCheck.Float64Tolerance"/>
    /// of autograd's float64 gradient: approximate if it was allclose (or is float64 itself), else ill-conditioned in
    /// float32 — or null when float64 does not prove it.
    /// </summary>
    /// <param name="upstream">The largest upstream gradient (<see cref="StepTape.UpstreamScale"/>), the scale of rounding noise.</param>
    /// <param name="rowIsFloat64">The row itself was compared in float64 (no float32 rounding to excuse).</param>
    /// <param name="where">Where the float64 figures come from, for the evidence, e.g. "float64 rerun".</param>
    public static GradientRow? Proved(GradientRow row, Tensor m64, Tensor a64, double upstream, bool rowIsFloat64, string where)
    {
        using var scope = NewDisposeScope();
        double a = VerdictEngine.MaxAbs(a64), m = VerdictEngine.MaxAbs(m64), d = VerdictEngine.MaxAbs(m64 - a64);
        string Sci(double x) => NumberFormat.Diff(x);
        if (a <= GradientCheck.NoiseTolerance * upstream && m <= GradientCheck.NoiseTolerance * upstream)
            return VerdictEngine.Passing(row, Verdict.RoundingNoise,
                $"{where}: max|autograd| {Sci(a)} and max|manual| {Sci(m)}, both ≤ 1e-10 × the upstream gradient's {Sci(upstream)}");
        if (d <= GradientCheck.Float64Tolerance * a)
            return VerdictEngine.Passing(row, row.Approximate || rowIsFloat64 ? Verdict.Approximate : Verdict.IllConditioned,
                $"{where}: max|manual − autograd| {Sci(d)} ≤ 1e-9 × max|autograd| {Sci(a)}");
        return null;
    }
}
