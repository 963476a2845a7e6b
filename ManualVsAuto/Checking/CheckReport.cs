namespace ManualVsAuto.Checking;

/// <summary>A forward-pass comparison shown under the table, e.g. the fused loss against the chunked one.</summary>
public sealed record ForwardComparison(string Name, double MaxDiff);

/// <summary>Everything a renderer needs: the settings, the loss, the gradient rows and the forward comparisons.</summary>
public sealed record CheckReport(
    CheckSettings Settings,
    double Loss,
    IReadOnlyList<GradientRow> Rows,
    IReadOnlyList<ForwardComparison> Forward,
    string TorchSharpVersion,
    string LibTorchVersion)
{
    public int ExactCount => Rows.Count(r => r.Exact);
    public int ApproximateCount => Rows.Count(r => r.Approximate);
    public bool AllApproximate => Rows.All(r => r.Approximate);
}
