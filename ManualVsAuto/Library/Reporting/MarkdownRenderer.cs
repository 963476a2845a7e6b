using System.Globalization;
using System.Text;
using ManualVsAuto.Checking;

namespace ManualVsAuto.Reporting;

/// <summary>A GitHub-flavoured markdown report that pastes into a pull request.</summary>
public sealed class MarkdownRenderer : IReportRenderer
{
    public static readonly MarkdownRenderer Instance = new();

    private MarkdownRenderer()
    {
    }

    public string Name => "markdown";

    public string Description => "a GitHub-flavoured table to paste into a pull request";

    public void Write(CheckReport report, RequiredLevel require, TextWriter output) => output.Write(Render(report, require));

    /// <param name="require">The level the last line reports on (check's --require).</param>
    public static string Render(CheckReport r, RequiredLevel require = RequiredLevel.Approx)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"**loss** {r.Loss.ToString("F4", CultureInfo.InvariantCulture)} · {SharedReportText.Settings(r)} · {SharedReportText.Versions(r)}");
        sb.AppendLine();
        sb.AppendLine("| name | shape | verdict | exact | approximate | maxdiff | ulps | numeric |");
        sb.AppendLine("|---|---|---|---|---|--:|--:|---|");
        foreach (var row in r.Rows)
            sb.AppendLine($"| `{Cell(row.Name)}` | {row.ShapeText} | {Cell(row.VerdictText)} | {Mark(row.Exact)} | {Mark(row.Approximate)} | {PlainTable.MaxDiff(row)} | {PlainTable.UlpsText(row)} | {SharedReportText.Numeric(row)} |");
        sb.AppendLine();
        foreach (var line in SharedReportText.ForwardLines(r)) sb.AppendLine($"- {Cell(line)}");
        foreach (var d in r.Rows.Select(SharedReportText.Detail).OfType<string>()) sb.AppendLine($"- {Cell(d)}");
        sb.AppendLine();
        sb.AppendLine($"**{r.Summary} · {SharedReportText.Requirement(r, require)}**");
        return sb.ToString();
    }

    private static string Mark(bool b) => b ? "✅ True" : "❌ False";

    private static string Cell(string s) => s.Replace("|", "\\|");
}
