namespace ManualVsAuto.Checking;

/// <summary>One line of the cmp report: how a manual gradient compares with the reference one.</summary>
public sealed record GradientRow(
    string Name,
    long[] Shape,
    bool Exact,
    bool Approximate,
    double MaxDiff)
{
    public string ShapeText => "(" + string.Join(", ", Shape) + ")";
}
