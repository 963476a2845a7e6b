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
    /// <summary>Exercise 2's dlogits (rows: examples, columns: characters), for the lecture's heatmap.</summary>
    public float[,]? Dlogits { get; init; }

    public int ExactCount => Rows.Count(r => r.Exact);
    public int ApproximateCount => Rows.Count(r => r.Approximate);

    /// <summary>Rows that can be exact (the chain rule step by step) and rows judged approximate by construction (fused).</summary>
    public IEnumerable<GradientRow> ExactRows => Rows.Where(r => r.ExpectExact);
    public IEnumerable<GradientRow> FusedRows => Rows.Where(r => !r.ExpectExact);

    /// <summary>"26/26 exact · 2/2 fused approximate"</summary>
    public string Summary
    {
        get
        {
            var exact = ExactRows.ToList();
            var fused = FusedRows.ToList();
            var text = $"{exact.Count(r => r.Exact)}/{exact.Count} exact";
            if (exact.Any(r => !r.Exact)) text += $", {exact.Count(r => r.Approximate)}/{exact.Count} approximate";
            if (fused.Count > 0) text += $" · {fused.Count(r => r.Approximate)}/{fused.Count} fused approximate";
            return text;
        }
    }
    public bool AllApproximate => Rows.All(r => r.Approximate);

    /// <summary>Every gradient row meets <paramref name="level"/>; the forward comparisons do not count.</summary>
    public bool Passes(RequiredLevel level) => Rows.All(r => r.Meets(level));
}
