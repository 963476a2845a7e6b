using ManualVsAuto.Model;

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
    /// <summary>Which net was checked, by its <see cref="ModelKind.Name"/>: the lecture's <c>mlp</c> unless set.</summary>
    public string Model { get; init; } = ModelKinds.Default.Name;

    /// <summary>Exercise 2's dlogits (rows: examples, columns: characters), for the lecture's heatmap.</summary>
    public float[,]? Dlogits { get; init; }

    /// <summary>The same line as <see cref="GradientCheck.Summary"/>, e.g. "26/26 exact · 2/2 approximate by construction · numeric 7/7 pass".</summary>
    public string Summary => PlainTable.Summary(Rows);

    /// <summary>Every gradient row meets <paramref name="level"/>; the forward comparisons do not count.</summary>
    public bool Passes(RequiredLevel level) => Rows.All(r => r.Meets(level));
}
