using System.Globalization;
using ManualVsAuto.Checking;
using ManualVsAuto.Reporting;

namespace ManualVsAuto.Tests;

/// <summary>Each machine-readable format parses back to the report it came from.</summary>
public class ReportFormatTests
{
    private static CheckReport Report => LectureFixture.Report;

    [DataFact]
    public void JsonRoundTripsWithFullPrecision()
    {
        var doc = JsonRenderer.Parse(JsonRenderer.Render(Report, RequiredLevel.Exact));
        Assert.Equal(JsonRenderer.Schema, doc.Schema);
        Assert.Equal(Report.Loss, doc.Loss); // bitwise: JSON keeps every digit
        Assert.Equal(Report.Rows.Select(r => r.Name), doc.Rows.Select(r => r.Name));
        Assert.Equal(Report.Rows.Select(r => r.MaxDiff), doc.Rows.Select(r => r.MaxDiff));
        Assert.Equal(Report.Rows.Select(r => r.Shape), doc.Rows.Select(r => r.Shape));
        Assert.Equal(RequiredLevel.Exact, doc.Require);
        Assert.True(doc.Passed);
        Assert.Equal("float32", doc.Settings.Dtype);
        Assert.Equal("mlp", doc.Settings.Model);
        Assert.Equal("2.10.0", doc.Versions.LibTorch);
        var fused = doc.Rows.Single(r => r.Name == LectureCheck.FusedCrossEntropyLabel);
        Assert.False(fused.ExpectExact);
        Assert.True(fused.Passed); // judged approximate even with --require exact
        Assert.Contains(doc.Rows, r => r.Numeric is { Passed: true, Mode: "fast" });
        Assert.Equal(["loss_fast", "hpreact_fast"], doc.Forward.Select(f => f.Name));
        Assert.Equal("manualvsauto.report/3", doc.Schema);
        Assert.Equal(Report.Rows.Select(r => r.Verdict), doc.Rows.Select(r => r.Verdict));
        var exact = doc.Rows.Single(r => r.Name == "W1");
        Assert.Equal((Verdict.Exact, "exact"), (exact.Verdict, exact.VerdictText));
        Assert.Null(exact.WorstIndex); // no element differs
        Assert.NotNull(fused.WorstIndex);
    }

    /// <summary>A report with a shape mismatch (the lecture's dbnmeani without keepdim) and the rows it leaves exact.</summary>
    private static readonly Lazy<CheckReport> KeepdimReport = new(() => LectureCheck.Run(LectureFixture.Split.Train,
        new CheckSettings(Numeric: null), MistakeMatrixTests.With("bnmeani", l => -l.So["bndiff"].sum(0, keepdim: false))));

    [DataFact]
    public void ShapeMismatchIsAFailingRowInEveryFormat()
    {
        var r = KeepdimReport.Value;
        var row = r.Rows.Single(x => x.Name == "bnmeani");
        Assert.Equal(Verdict.ShapeMismatch, row.Verdict);
        Assert.Equal([64L], row.ManualShape!);
        Assert.Equal([1L, 64L], row.Shape);
        Assert.False(r.Passes(RequiredLevel.Approx));
        Assert.Contains("1 mistake, at bnmeani (shape mismatch)", r.Summary);
        Assert.Equal(r.Rows.Count - 1, r.Rows.Count(x => x.Passed)); // broadcast back, every other row is still right

        var json = JsonRenderer.Parse(JsonRenderer.Render(r, RequiredLevel.Approx)).Rows.Single(x => x.Name == "bnmeani");
        Assert.Equal((Verdict.ShapeMismatch, false), (json.Verdict, json.Passed));
        Assert.Equal([64L], json.ManualShape!);
        Assert.Contains("keepdim", json.Hint);

        var csv = CsvRenderer.Render(r).Split('\n').Select(l => l.TrimEnd('\r')).Single(l => l.StartsWith("bnmeani,", StringComparison.Ordinal));
        var cells = ParseCsvLine(csv);
        Assert.Equal("shape mismatch", cells[Array.IndexOf(CsvRenderer.Header, "verdict")]);
        Assert.Equal("false", cells[Array.IndexOf(CsvRenderer.Header, "passed")]);
        Assert.Equal("(64)", cells[Array.IndexOf(CsvRenderer.Header, "manual_shape")]);
        Assert.Equal("approx", cells[Array.IndexOf(CsvRenderer.Header, "require")]);

        Assert.Contains("| `bnmeani` | (1, 64) | shape mismatch |", MarkdownRenderer.Render(r));
        Assert.Contains(" · --require approx: 1 row falls short**", MarkdownRenderer.Render(r));
        var text = PlainTable.Table(r.Rows);
        Assert.Matches(@"\nbnmeani +\(1, 64\) +shape mismatch +False +False +- +- ", text);
    }

    [DataFact]
    public void CsvHasOneLinePerRowAndParsesBack()
    {
        var lines = CsvRenderer.Render(Report).TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        Assert.Equal(string.Join(",", CsvRenderer.Header), lines[0]);
        Assert.Equal(Report.Rows.Count + 1, lines.Length);
        var rows = lines.Skip(1).Select(ParseCsvLine).ToList();
        int maxdiff = Array.IndexOf(CsvRenderer.Header, "maxdiff");
        for (int i = 0; i < rows.Count; i++)
        {
            Assert.Equal(CsvRenderer.Header.Length, rows[i].Count);
            Assert.Equal(Report.Rows[i].Name, rows[i][0]);
            Assert.Equal(Report.Rows[i].ShapeText, rows[i][1]);
            Assert.Equal(Report.Rows[i].Exact, bool.Parse(rows[i][Array.IndexOf(CsvRenderer.Header, "exact")]));
            Assert.Equal(Report.Rows[i].VerdictText, rows[i][Array.IndexOf(CsvRenderer.Header, "verdict")]);
            Assert.Equal("true", rows[i][Array.IndexOf(CsvRenderer.Header, "passed")]);
            Assert.Equal(Report.Rows[i].MaxDiff, double.Parse(rows[i][maxdiff], CultureInfo.InvariantCulture));
            Assert.Equal("approx", rows[i][Array.IndexOf(CsvRenderer.Header, "require")]);
            Assert.Equal("mlp", rows[i][Array.IndexOf(CsvRenderer.Header, "model")]);
        }
        // The level passed is judged at is named, as JSON's require.
        var exact = CsvRenderer.Render(Report, RequiredLevel.Exact).TrimEnd().Split('\n').Skip(1).Select(l => ParseCsvLine(l.TrimEnd('\r')));
        Assert.All(exact, cells => Assert.Equal("exact", cells[Array.IndexOf(CsvRenderer.Header, "require")]));
    }

    [DataFact]
    public void MarkdownIsATableWithEveryRow()
    {
        var md = MarkdownRenderer.Render(Report);
        var tableLines = md.Split('\n').Where(l => l.StartsWith('|')).ToList();
        Assert.Equal(Report.Rows.Count + 2, tableLines.Count); // header, separator, rows
        foreach (var row in Report.Rows) Assert.Contains($"| `{row.Name}` | {row.ShapeText} |", md);
        Assert.Contains($"**{Report.Summary} · --require approx: every row meets it**", md);
        Assert.Contains($"**{Report.Summary} · --require exact: every row meets it**", MarkdownRenderer.Render(Report, RequiredLevel.Exact));
    }

    [Fact]
    public void CsvQuotesCellsThatNeedIt()
    {
        Assert.Equal("\"a,b\"", CsvRenderer.Quote("a,b"));
        Assert.Equal("\"say \"\"hi\"\"\"", CsvRenderer.Quote("say \"hi\""));
        Assert.Equal("plain", CsvRenderer.Quote("plain"));
    }

    private static List<string> ParseCsvLine(string line)
    {
        var cells = new List<string>();
        var cur = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { cur.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else cur.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { cells.Add(cur.ToString()); cur.Clear(); }
            else cur.Append(c);
        }
        cells.Add(cur.ToString());
        return cells;
    }
}
