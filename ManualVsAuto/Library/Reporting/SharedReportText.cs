using ManualVsAuto.Checking;
using ManualVsAuto.Model;

namespace ManualVsAuto.Reporting;

/// <summary>The lines shared by the table and markdown renderers, so both say the same thing.</summary>
public static class SharedReportText
{
    /// <summary>The run's settings, e.g. <c>seed 42 · batch 32 · …</c>; a net other than the lecture's MLP is named first
    /// (<c>wavenet · seed 42 · …</c>).</summary>
    public static string Settings(CheckReport r)
    {
        var s = r.Settings;
        var numeric = s.Numeric is not { } m ? "numeric: off"
            : $"numeric: {m.ToString().ToLowerInvariant()} finite differences in float64" +
              (s.Dtype == TorchSharp.torch.ScalarType.Float64 ? "" : $" (on float64 copies of the {DtypeName(s.Dtype)} parameters)");
        return $"{(r.Model == ModelKinds.Default.Name ? "" : r.Model + " · ")}seed {s.Seed} · batch {s.BatchSize} · hidden {s.NHidden} · {DtypeName(s.Dtype)} · intra-op threads {s.Threads} · {numeric}";
    }

    /// <summary>The level applied and how the rows fare, e.g. <c>--require approx: every row meets it</c>.</summary>
    public static string Requirement(CheckReport r, RequiredLevel level)
    {
        int fallShort = r.Rows.Count(row => !row.Meets(level));
        string verdict = fallShort == 0 ? "every row meets it" : $"{fallShort} row{(fallShort == 1 ? "" : "s")} fall{(fallShort == 1 ? "s" : "")} short";
        return $"--require {RequireName(level)}: {verdict}";
    }

    /// <summary>The option's value: <c>approx</c> or <c>exact</c>.</summary>
    public static string RequireName(RequiredLevel level) => level.ToString().ToLowerInvariant();

    public static string Versions(CheckReport r) => $"TorchSharp {r.TorchSharpVersion} · libtorch {r.LibTorchVersion}";

    public static string Numeric(GradientRow row) => row.Numeric is not { } n ? "-" : n.Passed ? "pass" : "FAIL";

    /// <summary>One line of detail for a row that is not exact, or that the numeric oracle failed.</summary>
    public static string? Detail(GradientRow row)
    {
        if (row.Exact && row.Numeric?.Passed != false) return null;
        var text = row.Exact ? $"{row.Name}: exact"
            : row.Verdict is Verdict.ShapeMismatch or Verdict.DtypeMismatch ? $"{row.Name}: {row.VerdictText}"
            : $"{row.Name}: {row.VerdictText}: worst at {row.WorstIndexText}: manual {NumberFormat.Value(row.ManualAtWorst)} vs autograd {NumberFormat.Value(row.ReferenceAtWorst)} " +
              $"({Ulps(row)}), max rel diff {NumberFormat.Diff(row.MaxRelDiff)}, {row.Mismatches}/{row.Count} differ, {row.NotClose} not close";
        if (row.Hint is not null) text += $" — {row.Hint}";
        if (row.Evidence is not null && row.Verdict is not Verdict.Exact) text += $" — {row.Evidence}";
        if (row.Rounding is not null) text += $" — {row.Rounding}";
        if (row.Numeric is { Passed: false } n) text += $" — numeric: {n.Summary}";
        else if (row.Numeric?.Note is { } note) text += $" ({note})";
        return text;
    }

    private static string Ulps(GradientRow row) => PlainTable.UlpsText(row) is var u && row.Ulps is not null ? u + " ulps" : u;

    public static IEnumerable<string> ForwardLines(CheckReport r) =>
        r.Forward.Select(f => $"{f.Name}: max abs diff from the chunked forward {NumberFormat.Diff(f.MaxDiff)}");

    public static string DtypeName(TorchSharp.torch.ScalarType t) => t switch
    {
        TorchSharp.torch.ScalarType.Float32 => "float32",
        TorchSharp.torch.ScalarType.Float64 => "float64",
        _ => t.ToString().ToLowerInvariant(),
    };
}
