using System.Globalization;
using ManualVsAuto.Checking;
using ManualVsAuto.Reporting;
using Spectre.Console;

namespace ManualVsAuto.Cli;

/// <summary>Draws a <see cref="CheckReport"/> as the lecture's cmp lines, in a console table.</summary>
public static class TableRenderer
{
    public static void Render(CheckReport report, IAnsiConsole console)
    {
        console.MarkupLine($"[bold]loss[/] {report.Loss.ToString("F4", CultureInfo.InvariantCulture)}");
        console.MarkupLine(Markup.Escape(ReportText.Settings(report)));
        console.MarkupLine(Markup.Escape(ReportText.Versions(report)));

        bool numeric = report.Rows.Any(r => r.Numeric is not null);
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("name").AddColumn("shape").AddColumn("verdict").AddColumn("exact").AddColumn("approximate")
            .AddColumn(new TableColumn("maxdiff").RightAligned())
            .AddColumn(new TableColumn("ulps").RightAligned());
        if (numeric) table.AddColumn("numeric");
        foreach (var row in report.Rows)
        {
            var cells = new List<string>
            {
                Markup.Escape(row.Name), Markup.Escape(row.ShapeText), Markup.Escape(row.VerdictText), Flag(row.Exact), Flag(row.Approximate),
                RowsText.MaxDiff(row), Markup.Escape(RowsText.UlpsText(row)),
            };
            if (numeric)
                cells.Add(row.Numeric is null ? "-" : row.Numeric.Passed ? $"[green]{ReportText.Numeric(row)}[/]" : $"[red]{ReportText.Numeric(row)}[/]");
            table.AddRow(cells.ToArray());
        }
        console.Write(table);

        foreach (var line in ReportText.ForwardLines(report)) console.MarkupLine(Markup.Escape(line));
        var details = report.Rows.Select(ReportText.Detail).OfType<string>().ToList();
        foreach (var d in details) console.MarkupLine("  " + Markup.Escape(d));
        console.MarkupLine(Markup.Escape(report.Summary));
    }

    private static string Flag(bool b) => b ? "[green]True[/]" : "[red]False[/]";
}
