using System.Text.RegularExpressions;
using ManualVsAuto.Checking;
using ManualVsAuto.Reporting;
using Spectre.Console;

using TableRenderer = ManualVsAuto.Cli.TableRenderer;

namespace ManualVsAuto.Tests;

/// <summary>The terminal table: fitted to the width, coloured by verdict, with the --require level in the summary.</summary>
public class ReportTableTests
{
    private static string Render(CheckReport report, int width, RequiredLevel level = RequiredLevel.Approx)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes, ColorSystem = ColorSystemSupport.Standard, Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = width;
        TableRenderer.Render(report, console, level);
        return writer.ToString();
    }

    private static string Plain(string s) => Regex.Replace(s, @"\e\[[0-9;]*m", "");

    /// <summary>The table's line for a row (its name cell ends with a space or the border).</summary>
    private static string RowLine(string output, string name) =>
        output.Split('\n').Single(l => Regex.IsMatch(Plain(l), $"^│ {Regex.Escape(name)} +│"));

    private const string Red = "\e[91m";

    [DataFact]
    public void At80ColumnsNoCellWrapsAndEveryRowKeepsItsWholeName()
    {
        string output = Plain(Render(LectureFixture.Report, 80));
        var tableLines = output.Split('\n').Where(l => l.StartsWith('│') || l.StartsWith('╭') || l.StartsWith('╰') || l.StartsWith('├')).ToList();
        Assert.All(tableLines, l => Assert.True(l.TrimEnd('\r').Length <= 80, $"{l.Length} columns: {l}"));
        // One line per row plus the header: a wrapped cell would add lines.
        Assert.Equal(LectureFixture.Report.Rows.Count + 1, tableLines.Count(l => l.StartsWith('│')));
        foreach (var row in LectureFixture.Report.Rows) RowLine(output, row.Name);
        Assert.Contains("│ approx ", output); // the shortened header
        Assert.DoesNotContain("ulps", output.Split('\n').First(l => l.Contains("│ name")));
    }

    [DataFact]
    public void AWideTerminalKeepsEveryColumn()
    {
        string header = Plain(Render(LectureFixture.Report, 200)).Split('\n').First(l => l.Contains("│ name"));
        foreach (var h in new[] { "name", "shape", "exact", "approximate", "maxdiff", "ulps", "numeric" }) Assert.Contains($" {h} ", header);
    }

    [DataFact]
    public void ARowThatMeetsTheLevelIsNotRedAndOneThatFallsShortIs()
    {
        var report = LectureFixture.Report;
        string output = Render(report, 200);
        // The fused rows are approximate by design and pass: their "False" under exact is not red.
        Assert.DoesNotContain(Red, RowLine(output, "logits (fused CE)"));
        Assert.DoesNotContain(Red, RowLine(output, "hprebn (fused BN)"));

        // The same report with dlogits wrong: its row falls short and is red.
        var broken = report with { Rows = report.Rows.Select(r => r.Name == "logits" ? r with { Exact = false, Approximate = false, Verdict = Verdict.Wrong, DecidedLocally = true } : r).ToList() };
        string bad = Render(broken, 200);
        Assert.Contains(Red + "False", RowLine(bad, "logits"));
        Assert.DoesNotContain(Red, RowLine(bad, "probs"));
        Assert.EndsWith("· --require approx: 1 row falls short", Plain(bad).TrimEnd());
    }

    [DataFact]
    public void TheSummaryNamesTheRequiredLevel()
    {
        Assert.EndsWith($"{LectureFixture.Report.Summary} · --require approx: every row meets it", Plain(Render(LectureFixture.Report, 200)).TrimEnd());
        Assert.EndsWith("· --require exact: every row meets it", Plain(Render(LectureFixture.Report, 200, RequiredLevel.Exact)).TrimEnd());
    }
}
