using System.Globalization;
using System.Text;
using ManualVsAuto.Checking;

namespace ManualVsAuto.Reporting;

/// <summary>One CSV line per gradient row, full-precision numbers, RFC 4180 quoting.</summary>
public sealed class CsvRenderer : IReportRenderer
{
    public static readonly CsvRenderer Instance = new();

    private CsvRenderer()
    {
    }

    public string Name => "csv";

    public string Description => "one line per gradient row, full precision";

    public void Write(CheckReport report, RequiredLevel require, TextWriter output) => output.Write(Render(report, require));

    public static readonly string[] Header =
    [
        "name", "shape", "verdict", "passed", "exact", "approximate", "expect_exact", "maxdiff", "max_rel_diff", "worst_index",
        "manual_at_worst", "reference_at_worst", "ulps", "mismatches", "not_close", "numeric", "inherits_from", "manual_shape",
        "hint", "evidence", "require", "model",
    ];

    /// <param name="require">The level <c>passed</c> is judged at (check's --require), named in its own column; the
    /// last column names the net that was checked.</param>
    public static string Render(CheckReport r, RequiredLevel require = RequiredLevel.Approx)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(",", Header));
        foreach (var row in r.Rows)
        {
            string[] cells =
            [
                row.Name, row.ShapeText, row.VerdictText, Bool(row.Meets(require)), Bool(row.Exact), Bool(row.Approximate), Bool(row.ExpectExact),
                NumberFormat.Full(row.MaxDiff), NumberFormat.Full(row.MaxRelDiff), row.WorstIndex is null ? "" : row.WorstIndexText,
                NumberFormat.Full(row.ManualAtWorst), NumberFormat.Full(row.ReferenceAtWorst), row.Ulps?.ToString(CultureInfo.InvariantCulture) ?? "",
                row.Mismatches.ToString(CultureInfo.InvariantCulture), row.NotClose.ToString(CultureInfo.InvariantCulture),
                row.Numeric is null ? "" : row.Numeric.Passed ? "pass" : "fail", string.Join(" ", row.InheritsFrom),
                row.ManualShape is null ? "" : Cmp.Shape(row.ManualShape), row.Hint ?? "", row.Evidence ?? "",
                SharedReportText.RequireName(require), r.Model,
            ];
            sb.AppendLine(string.Join(",", cells.Select(Quote)));
        }
        return sb.ToString();
    }

    private static string Bool(bool b) => b ? "true" : "false";

    public static string Quote(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
