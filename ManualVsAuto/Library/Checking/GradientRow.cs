namespace ManualVsAuto.Checking;

/// <summary>One line of the cmp report: how a manual gradient compares with the reference one.</summary>
/// <param name="MaxRelDiff">max |m − r| / max(|m|, |r|) over the elements (0 where both are 0): symmetric and never infinite.</param>
/// <param name="WorstIndex">Index of the element with the largest absolute difference; null when no element differs.</param>
/// <param name="Ulps">
/// Distance in units in the last place (of the compared dtype) between the two values at the worst element, when both
/// have the same sign; null when the signs differ or nothing was compared (a shape or dtype mismatch).
/// </param>
/// <param name="Mismatches">Elements that are not bitwise equal.</param>
/// <param name="NotClose">Elements outside the row's <see cref="Tolerance"/> (allclose's |m − r| ≤ atol + rtol·|r| unless told).</param>
public sealed record GradientRow(
    string Name,
    long[] Shape,
    bool Exact,
    bool Approximate,
    double MaxDiff,
    double MaxRelDiff = 0,
    long[]? WorstIndex = null,
    double ManualAtWorst = 0,
    double ReferenceAtWorst = 0,
    long? Ulps = 0,
    long Mismatches = 0,
    long NotClose = 0,
    string? Hint = null)
{
    /// <summary>False for rows that cannot be exact by construction (a fused formula rounds differently).</summary>
    public bool ExpectExact { get; init; } = true;

    /// <summary>The finite-difference oracle's verdict on this row, when it was run.</summary>
    public NumericResult? Numeric { get; init; }

    /// <summary>What the row means: exact, approximate, a mistake here, inherited, … (see <see cref="Checking.Verdict"/>).</summary>
    public Verdict Verdict { get; init; } = Verdict.Exact;

    /// <summary>
    /// The origins of the mistakes this row receives from upstream, in backward order: for <see cref="Verdict.Inherits"/>
    /// what it inherits; for <see cref="Verdict.Wrong"/> what it receives besides its own mistake.
    /// </summary>
    public IReadOnlyList<string> InheritsFrom { get; init; } = [];

    /// <summary>
    /// Whether the origin or inheritance was decided by a local verdict (the step's derivative re-evaluated on the
    /// user's own upstream gradients); false when only the order of the rows was known (a likely origin).
    /// </summary>
    public bool DecidedLocally { get; init; }

    /// <summary>The short cause of a mistake, e.g. "a missing path" (wrong rows with a known signature only).</summary>
    public string? Cause { get; init; }

    /// <summary>The evidence behind a verdict that is not read off the float32 comparison, e.g. the float64 rerun's figures.</summary>
    public string? Evidence { get; init; }

    /// <summary>
    /// For a row that passes without being exact: which op rounds differently and the form that would be exact
    /// ("tanh (step t) rounds differently: exact if written `…`"), or that its own line is exact and the rounding comes
    /// from upstream; null for exact and failing rows and for rows whose tensor no step reads.
    /// </summary>
    public string? Rounding { get; init; }

    /// <summary>What counted as approximate: <see cref="Checking.Tolerance.AllClose"/> in a check, <see cref="Checking.Tolerance.Training"/> in training.</summary>
    public Tolerance Tolerance { get; init; } = Tolerance.AllClose;

    /// <summary>
    /// The largest |manual − autograd| as a fraction of what <see cref="Tolerance"/> allows at that element: above 1
    /// somewhere exactly when some element is not close; 0 when no element differs.
    /// </summary>
    public double ToleranceUsed { get; init; }

    /// <summary>For a shape mismatch: the manual gradient's shape (<see cref="Shape"/> is the tensor's).</summary>
    public long[]? ManualShape { get; init; }

    public string ShapeText => Cmp.Shape(Shape);

    public string WorstIndexText => WorstIndex is null ? "-" : "[" + string.Join(", ", WorstIndex) + "]";

    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The verdict in the report's words, e.g. "WRONG here" or "inherits ← bndiff".</summary>
    public string VerdictText => Verdict switch
    {
        Verdict.Exact => "exact",
        Verdict.Approximate => "approximate",
        Verdict.IllConditioned => "approximate — ill-conditioned in float32",
        Verdict.RoundingNoise => "rounding noise (true gradient 0)",
        Verdict.Wrong => (DecidedLocally ? "WRONG here" : "WRONG (likely origin)") +
                         (InheritsFrom.Count > 0 ? " (and inherits ← " + string.Join(", ", InheritsFrom) + ")" : ""),
        Verdict.Inherits => (ManualShape is null ? "" : "shape mismatch, ") + (DecidedLocally ? "inherits ← " : "may inherit ← ") + (InheritsFrom.Count == 0 ? "upstream" : string.Join(", ", InheritsFrom)),
        Verdict.ShapeMismatch => "shape mismatch",
        Verdict.DtypeMismatch => "dtype mismatch",
        Verdict.Undecided => "float32 cannot decide" + (DecidedLocally ? "" : " (likely origin)"),
        _ => Verdict.ToString(),
    };

    /// <summary>The row passes: its verdict says the formula is right (at the approx level) and no finite-difference check failed.</summary>
    public bool Passed => Meets(RequiredLevel.Approx);

    /// <summary>
    /// Whether the row meets <paramref name="level"/>. Approx: exact, approximate, ill-conditioned in float32 or rounding
    /// noise. Exact: bitwise equal, except rows that cannot be exact by construction, which are judged at approx.
    /// </summary>
    public bool Meets(RequiredLevel level)
    {
        if (Numeric?.Passed == false) return false;
        if (level == RequiredLevel.Exact && ExpectExact) return Verdict == Verdict.Exact;
        return Verdict is Verdict.Exact or Verdict.Approximate or Verdict.IllConditioned or Verdict.RoundingNoise;
    }
}

/// <summary>What a row means, decided from the float32 comparison, the float64 rerun and the local verdict.</summary>
public enum Verdict
{
    /// <summary>Bitwise equal to autograd's.</summary>
    Exact,

    /// <summary>Not bitwise equal but within the row's tolerance: allclose (rtol 1e-5, atol 1e-8) unless told.</summary>
    Approximate,

    /// <summary>Not allclose in float32, but the same formula in float64 agrees with autograd's float64 gradient: passes.</summary>
    IllConditioned,

    /// <summary>The true gradient is 0 (e.g. b1 under batchnorm): both sides are rounding noise, in float64 too: passes.</summary>
    RoundingNoise,

    /// <summary>The row's own line is wrong: it differs from its local reference (or is the first failing row).</summary>
    Wrong,

    /// <summary>The row's line is right given its upstream gradients; it inherits a mistake from upstream.</summary>
    Inherits,

    /// <summary>The manual gradient's shape is not the tensor's.</summary>
    ShapeMismatch,

    /// <summary>The manual gradient's dtype is not the tensor's.</summary>
    DtypeMismatch,

    /// <summary>Not allclose in float32, at a scale where float32 rounding could explain it, and no float64 rerun was given: fails.</summary>
    Undecided,
}

/// <summary>What a report must reach for exit code 0.</summary>
public enum RequiredLevel
{
    Approx,
    Exact,
}
