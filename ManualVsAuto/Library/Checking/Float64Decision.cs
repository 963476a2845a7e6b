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

    private Float64Replay? replay;

    /// <summary>A rerun is given, or a computed side that succeeded (computing it now if not yet).</summary>
    public bool HasRerun => rerun is not null || (computeSide is not null && Side() is not null);

    /// <summary>Whether the checker may replay the steps in float64 itself when there is no rerun (on by default).</summary>
    public bool ReplayEnabled { get; set; } = true;

    /// <summary>The checker's own float64 replay of the steps, made once, when first needed; null with a rerun or switched off.</summary>
    public Float64Replay? Replay(StepTape tape)
    {
        if (HasRerun || !ReplayEnabled || tape.Steps.All(s => s.Inputs.Count == 0)) return null; // nothing to replay
        return replay ??= Float64Replay.Run(tape);
    }

    /// <summary>
    /// How far a float32 manual gradient may be from autograd's float64 one, in units of autograd's own float32 error
    /// (floored at <see cref="FloorUlps"/> float32 ulps of the gradient), and still be float32 rounding: a right formula
    /// can be much less accurate than autograd's (the lecture's <c>(1 - h*h) * dh</c> at saturated units).
    /// </summary>
    public const double RightRatio = 10;

    /// <summary>Beyond this many units, no rounding explains the difference: WRONG. Between the two: undecided.</summary>
    public const double WrongRatio = 50;

    /// <summary>The floor of autograd's own error, in float32 ulps (2^-24 relative) of the gradient's largest value.</summary>
    public const double FloorUlps = 4;

    /// <summary>
    /// The replay's decision on a float32 row that is not allclose, per tensor: rounding noise, right within
    /// <see cref="RightRatio"/> (approximate — float32 rounding, with the evidence), undecided up to <see cref="WrongRatio"/>,
    /// or null: wrong, to be located by the caller.
    /// </summary>
    public static GradientRow? Replayed(GradientRow row, Tensor manual32, Tensor autograd32, Tensor a64, double upstream)
    {
        using var scope = NewDisposeScope();
        var m = manual32.detach().to_type(ScalarType.Float64);
        var r = autograd32.detach().to_type(ScalarType.Float64);
        double a = VerdictEngine.MaxAbs(a64), em = VerdictEngine.MaxAbs(m - a64), ea = VerdictEngine.MaxAbs(r - a64), mm = VerdictEngine.MaxAbs(m);
        string Sci(double x) => NumberFormat.Diff(x);
        double zero = GradientCheck.Float32NoiseFraction * upstream;
        if (a <= zero && mm <= zero)
            return VerdictEngine.Passing(row, Verdict.RoundingNoise,
                $"float64 replay: max|autograd| {Sci(a)} and max|manual| {Sci(mm)}, both ≤ 1e-5 × the upstream gradient's {Sci(upstream)}");
        double unit = Math.Max(ea, FloorUlps * Math.ScaleB(1, -24) * a);
        double ratio = unit == 0 ? (em == 0 ? 0 : double.PositiveInfinity) : em / unit;
        string evidence = $"float64 replay: manual's error {Sci(em)} is {ratio:G3}× autograd float32's own {Sci(ea)} (floor {FloorUlps} ulps of {Sci(a)})";
        if (ratio <= RightRatio) return VerdictEngine.Passing(row, Verdict.IllConditioned, evidence);
        if (ratio <= WrongRatio)
            return row with
            {
                Verdict = Verdict.Undecided, DecidedLocally = true, Hint = null, Cause = null,
                Evidence = evidence + $": between {RightRatio}× (rounding) and {WrongRatio}× (a mistake); DecideInFloat64 with your backward in float64 decides it",
            };
        return null;
    }

    private Func<Float64Side?>? computeSide;

    /// <summary>
    /// A float64 side the checker computes itself (the one call's rerun of the model), once, when first needed; it may
    /// return null (refused), and then the replay decides. Replaces any rerun.
    /// </summary>
    public void UseSide(Func<Float64Side?> compute)
    {
        rerun = null;
        computeSide = compute;
        done = false;
        side = null;
    }

    public void Use(Func<GradientCheck, Float64Run> run)
    {
        computeSide = null;
        rerun = run;
        done = false;
        side = null;
    }

    /// <summary>The float64 rerun, made once, when first needed; null without one.</summary>
    public Float64Side? Side()
    {
        if (done || (rerun is null && computeSide is null)) return side;
        done = true;
        if (computeSide is not null) return side = computeSide();
        var c = new GradientCheck();
        var r = rerun!(c);
        if (r.Loss.dtype != ScalarType.Float64)
            throw new GradientCheckException($"the float64 rerun returned a {r.Loss.dtype} loss: convert the parameters and the batch to float64.");
        if (!r.BackwardDone) c.Backward(r.Loss);
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
