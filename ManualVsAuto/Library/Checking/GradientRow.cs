namespace ManualVsAuto.Checking;

/// <summary>One line of the cmp report: how a manual gradient compares with the reference one.</summary>
/// <param name="MaxRelDiff">max |m − r| / max(|m|, |r|) over the elements (0 where both are 0): symmetric and never infinite.</param>
/// <param name="WorstIndex">Index of the element with the largest absolute difference (empty for a 0-d tensor).</param>
/// <param name="Ulps">Distance in units in the last place (of the compared dtype) between the two values at the worst element.</param>
/// <param name="Mismatches">Elements that are not bitwise equal.</param>
/// <param name="NotClose">Elements outside allclose's |m − r| ≤ atol + rtol·|r|.</param>
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
    long Ulps = 0,
    long Mismatches = 0,
    long NotClose = 0,
    string? Hint = null)
{
    /// <summary>False for rows that cannot be exact by construction (a fused formula rounds differently).</summary>
    public bool ExpectExact { get; init; } = true;

    /// <summary>The finite-difference oracle's verdict on this row, when it was run.</summary>
    public NumericResult? Numeric { get; init; }

    public string ShapeText => "(" + string.Join(", ", Shape) + ")";

    public string WorstIndexText => WorstIndex is null ? "-" : "[" + string.Join(", ", WorstIndex) + "]";

    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Whether the row meets <paramref name="level"/>; rows that cannot be exact are judged approximate.</summary>
    public bool Meets(RequiredLevel level) =>
        (level == RequiredLevel.Exact && ExpectExact ? Exact : Approximate) && Numeric?.Passed != false;
}

/// <summary>What a report must reach for exit code 0.</summary>
public enum RequiredLevel
{
    Approx,
    Exact,
}
