using System.Text;
using ManualVsAuto.Checking;

namespace ManualVsAuto.Reporting;

/// <summary>One CSV line per gradient row, full-precision numbers, RFC 4180 quoting.</summary>
public static class CsvRenderer
{
    public static readonly string[] Header =
    [
        "name", "shape", "exact", "approximate", "expect_exact", "maxdiff", "max_rel_diff", "worst_index",
        "manual_at_worst", "reference_at_worst", "ulps", "mismatches", "not_close", "numeric", "hint",
    ];

    public static string Render(CheckReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(",", Header));
        foreach (var row in r.Rows)
        {
            string[] cells =
            [
                row.Name, row.ShapeText, Bool(row.Exact), Bool(row.Approximate), Bool(row.ExpectExact),
                Numbers.Full(row.MaxDiff), Numbers.Full(row.MaxRelDiff), row.WorstIndexText,
                Numbers.Full(row.ManualAtWorst), Numbers.Full(row.ReferenceAtWorst), row.Ulps.ToString(),
                row.Mismatches.ToString(), row.NotClose.ToString(),
                row.Numeric is null ? "" : row.Numeric.Passed ? "pass" : "fail", row.Hint ?? "",
            ];
            sb.AppendLine(string.Join(",", cells.Select(Quote)));
        }
        return sb.ToString();
    }

    private static string Bool(bool b) => b ? "true" : "false";

    public static string Quote(string s) =>
        s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
