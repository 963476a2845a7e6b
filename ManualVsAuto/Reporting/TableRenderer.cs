using System.Globalization;
using ManualVsAuto.Checking;
using Spectre.Console;

namespace ManualVsAuto.Reporting;

/// <summary>Draws a <see cref="CheckReport"/> as the lecture's cmp lines, in a console table.</summary>
public static class TableRenderer
{
    public static void Render(CheckReport report, IAnsiConsole console)
    {
        var s = report.Settings;
        console.MarkupLine($"[bold]loss[/] {report.Loss.ToString("F4", CultureInfo.InvariantCulture)}");
        console.MarkupLine(Markup.Escape(
            $"seed {s.Seed} · batch {s.BatchSize} · hidden {s.Hidden} · {DtypeName(s.Dtype)} · intra-op threads {s.Threads}"));
        console.MarkupLine(Markup.Escape($"TorchSharp {report.TorchSharpVersion} · libtorch {report.LibTorchVersion}"));

        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("name").AddColumn("shape").AddColumn("exact").AddColumn("approximate")
            .AddColumn(new TableColumn("maxdiff").RightAligned());
        foreach (var row in report.Rows)
        {
            table.AddRow(
                Markup.Escape(row.Name),
                Markup.Escape(row.ShapeText),
                Flag(row.Exact),
                Flag(row.Approximate),
                FormatDiff(row.MaxDiff));
        }
        console.Write(table);

        foreach (var f in report.Forward)
            console.MarkupLine(Markup.Escape($"{f.Name}: max abs diff from the chunked forward {FormatDiff(f.MaxDiff)}"));
        console.MarkupLine(Markup.Escape(report.Summary));
    }

    public static string FormatDiff(double d) => d == 0 ? "0.0" : d.ToString("0.###e+00", CultureInfo.InvariantCulture);

    public static string DtypeName(TorchSharp.torch.ScalarType t) => t switch
    {
        TorchSharp.torch.ScalarType.Float32 => "float32",
        TorchSharp.torch.ScalarType.Float64 => "float64",
        _ => t.ToString().ToLowerInvariant(),
    };

    private static string Flag(bool b) => b ? "[green]True[/]" : "[red]False[/]";
}
