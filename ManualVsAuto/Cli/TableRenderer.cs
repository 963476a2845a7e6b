using System.Globalization;
using ManualVsAuto.Checking;
using ManualVsAuto.Reporting;
using Spectre.Console;

namespace ManualVsAuto.Cli;

/// <summary>Draws a <see cref="CheckReport"/> as the lecture's cmp lines, in a console table.</summary>
public sealed class TableRenderer : IReportRenderer
{
    public static readonly TableRenderer Instance = new();

    private TableRenderer()
    {
    }

    public string Name => "table";

    public string Description => "the lecture's cmp lines in a console table, fitted to the terminal";

    public void Write(CheckReport report, RequiredLevel require, TextWriter output) => Render(report, Terminal.Console(output), require);

    public static void Render(CheckReport report, IAnsiConsole console, RequiredLevel level = RequiredLevel.Approx)
    {
        console.MarkupLine($"[bold]loss[/] {report.Loss.ToString("F4", CultureInfo.InvariantCulture)}");
        console.MarkupLine(Markup.Escape(SharedReportText.Settings(report)));
        console.MarkupLine(Markup.Escape(SharedReportText.Versions(report)));

        console.Write(Table(report, level, console.Profile.Width));

        foreach (var line in SharedReportText.ForwardLines(report)) console.MarkupLine(Markup.Escape(line));
        var details = report.Rows.Select(SharedReportText.Detail).OfType<string>().ToList();
        foreach (var d in details) console.MarkupLine("  " + Markup.Escape(d));
        console.MarkupLine(Markup.Escape($"{report.Summary} · {SharedReportText.Requirement(report, level)}"));
    }

    /// <summary>A column: its header, a shorter header for narrow terminals, and each row's plain text and markup.</summary>
    private sealed record Column(string Header, string? ShortHeader, bool Right, Func<GradientRow, (string Text, string Markup)> Cell);

    /// <summary>
    /// The table, fitted to <paramref name="width"/> so that no cell wraps: on a narrow terminal (80 columns) the
    /// "approximate" header shortens to "approx", then the least important columns go: ulps, then shape, then exact and approximate
    /// (the verdict column says it in words).
    /// Colours follow the verdict: a False is red only in a row that falls short of <paramref name="level"/>.
    /// </summary>
    private static Table Table(CheckReport report, RequiredLevel level, int width)
    {
        (string, string) Plain(string t) => (t, Markup.Escape(t));
        (string, string) Flag(GradientRow r, bool b) =>
            b ? ("True", "[green]True[/]") : ("False", r.Meets(level) ? "False" : "[red]False[/]");
        var columns = new List<Column>
        {
            new("name", null, false, r => Plain(r.Name)),
            new("shape", null, false, r => Plain(r.ShapeText)),
            new("verdict", null, false, r => (r.VerdictText, r.Meets(level) ? Markup.Escape(r.VerdictText) : $"[red]{Markup.Escape(r.VerdictText)}[/]")),
            new("exact", null, false, r => Flag(r, r.Exact)),
            new("approximate", "approx", false, r => Flag(r, r.Approximate)),
            new("maxdiff", null, true, r => Plain(PlainTable.MaxDiff(r))),
            new("ulps", null, true, r => Plain(PlainTable.UlpsText(r))),
        };
        if (report.Rows.Any(r => r.Numeric is not null))
            columns.Add(new("numeric", null, false, r => r.Numeric is null ? Plain("-")
                : (SharedReportText.Numeric(r), r.Numeric.Passed ? $"[green]{SharedReportText.Numeric(r)}[/]" : $"[red]{SharedReportText.Numeric(r)}[/]")));

        bool shortHeaders = false;
        int Needed() => columns.Sum(c => Math.Max((shortHeaders ? c.ShortHeader ?? c.Header : c.Header).Length,
            report.Rows.Select(r => c.Cell(r).Text.Length).DefaultIfEmpty(0).Max())) + 3 * columns.Count + 1;
        if (Needed() > width) shortHeaders = true;
        foreach (var drop in new[] { "ulps", "shape", "exact", "approximate" })
            if (Needed() > width) columns.RemoveAll(c => c.Header == drop);

        var table = new Table().Border(TableBorder.Rounded);
        foreach (var c in columns)
        {
            var column = new TableColumn(shortHeaders ? c.ShortHeader ?? c.Header : c.Header);
            table.AddColumn(c.Right ? column.RightAligned() : column);
        }
        foreach (var row in report.Rows) table.AddRow(columns.Select(c => c.Cell(row).Markup).ToArray());
        return table;
    }

}
