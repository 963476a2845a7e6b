namespace ManualVsAuto.Checking;

/// <summary>One line of the cmp report: how a manual gradient compares with the reference one.</summary>
public sealed record GradientRow(
    string Name,
    long[] Shape,
    bool Exact,
    bool Approximate,
    double MaxDiff)
{
    /// <summary>False for rows that cannot be exact by construction (a fused formula rounds differently).</summary>
    public bool ExpectExact { get; init; } = true;

    public string ShapeText => "(" + string.Join(", ", Shape) + ")";
}
