using System.Globalization;
using System.Text;

namespace ManualVsAuto.Checking;

/// <summary>
/// Gradient rows as a plain-text table: no colours, no box drawing, columns padded with spaces, one line per row,
/// so it reads the same in a terminal, a test runner's failure message and a log file. Used by
/// <see cref="GradientCheck.ToText"/> and by the message of <see cref="GradientAssertionException"/>.
/// </summary>
public static class PlainTable
{
    /// <summary>Marks the exact flag of a row that cannot be exact by construction (judged by allclose).</summary>
    public const string ApproximateByConstructionMark = "*";

    /// <summary>
    /// The table: name, shape, exact, approximate, maxdiff, ulps, the worst element's index and the manual and
    /// autograd values there (for rows that are not exact), the finite-difference verdict (when any row has one)
    /// and the mistake hint. Ends with a newline; a footnote follows when a row is approximate by construction.
    /// </summary>
    public static string Table(IReadOnlyList<GradientRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        bool numeric = rows.Any(r => r.Numeric is not null);
        var header = new List<string> { "name", "shape", "verdict", "exact", "approximate", "maxdiff", "ulps", "worst", "manual", "autograd" };
        if (numeric) header.Add("numeric");
        header.Add("hint");
        // Right-aligned: maxdiff, ulps, manual, autograd.
        var right = new HashSet<int> { 5, 6, 8, 9 };

        var lines = new List<string[]> { header.ToArray() };
        foreach (var row in rows)
        {
            bool differs = row.WorstIndex is not null;
            var cells = new List<string>
            {
                row.Name,
                row.ShapeText,
                row.VerdictText,
                Flag(row.Exact) + (row.ExpectExact ? "" : ApproximateByConstructionMark),
                Flag(row.Approximate),
                MaxDiff(row),
                UlpsText(row),
                differs ? row.WorstIndexText : "-",
                differs ? Value(row.ManualAtWorst) : "-",
                differs ? Value(row.ReferenceAtWorst) : "-",
            };
            if (numeric) cells.Add(row.Numeric is not { } n ? "-" : n.Passed ? "pass" : "FAIL");
            cells.Add(Hint(row));
            lines.Add(cells.ToArray());
        }

        var sb = new StringBuilder(Columns(lines, right));
        if (rows.Any(r => !r.ExpectExact))
            sb.Append(ApproximateByConstructionMark)
              .Append(" approximate by construction: the manual formula rounds differently from autograd's, so the row is judged by allclose\n");
        return sb.ToString();
    }

    /// <summary>
    /// Lines of cells as padded columns, the first line a header underlined with dashes; the columns in
    /// <paramref name="right"/> right-aligned, the last one not padded. Every line ends with a newline.
    /// </summary>
    internal static string Columns(IReadOnlyList<string[]> lines, IReadOnlySet<int> right)
    {
        var header = lines[0];
        int columns = header.Length;
        var widths = new int[columns];
        foreach (var cells in lines)
            for (int c = 0; c < columns; c++) widths[c] = Math.Max(widths[c], cells[c].Length);

        var sb = new StringBuilder();
        for (int i = 0; i < lines.Count; i++)
        {
            var cells = lines[i];
            var line = new StringBuilder();
            for (int c = 0; c < columns; c++)
            {
                if (c > 0) line.Append("  ");
                bool last = c == columns - 1;
                line.Append(right.Contains(c) ? cells[c].PadLeft(widths[c]) : last ? cells[c] : cells[c].PadRight(widths[c]));
            }
            sb.Append(line.ToString().TrimEnd()).Append('\n');
            if (i == 0)
                sb.Append(string.Join("  ", widths.Select((w, c) => new string('-', c == columns - 1 ? header[c].Length : w)))).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// One line over all rows, e.g. <c>8/8 exact · 1/1 approximate by construction · numeric 4/4 pass</c>; rows
    /// that are not exact also get an approximate count, e.g. <c>7/8 exact, 8/8 approximate</c>, and the verdicts
    /// that are not read off the comparison are named, e.g. <c>1 mistake, at bndiff (a missing path); 19 rows inherit it</c>.
    /// </summary>
    public static string Summary(IReadOnlyList<GradientRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) return "no gradients compared";
        var parts = new List<string>();
        var strict = rows.Where(r => r.ExpectExact).ToList();
        var loose = rows.Where(r => !r.ExpectExact).ToList();
        if (strict.Count > 0)
        {
            var text = $"{strict.Count(r => r.Exact)}/{strict.Count} exact";
            if (strict.Any(r => !r.Exact)) text += $", {strict.Count(r => r.Approximate)}/{strict.Count} approximate";
            parts.Add(text);
        }
        if (loose.Count > 0) parts.Add($"{loose.Count(r => r.Approximate)}/{loose.Count} approximate by construction");
        var checkedNumerically = rows.Where(r => r.Numeric is not null).ToList();
        if (checkedNumerically.Count > 0)
            parts.Add($"numeric {checkedNumerically.Count(r => r.Numeric!.Passed)}/{checkedNumerically.Count} pass");
        if (Mistakes(rows) is { } mistakes) parts.Add(mistakes);
        int ill = rows.Count(r => r.Verdict == Verdict.IllConditioned), noise = rows.Count(r => r.Verdict == Verdict.RoundingNoise);
        int undecided = rows.Count(r => r.Verdict == Verdict.Undecided);
        if (ill > 0) parts.Add($"{ill} ill-conditioned in float32 (right in float64)");
        if (noise > 0) parts.Add($"{noise} rounding noise (true gradient 0)");
        if (undecided > 0) parts.Add($"{undecided} float32 cannot decide");
        return string.Join(" · ", parts);
    }

    /// <summary>"2 mistakes, at probs (a sign error) and bndiff (a missing path); 19 rows inherit them", or null.</summary>
    private static string? Mistakes(IReadOnlyList<GradientRow> rows)
    {
        var origins = rows.Where(r => r.Verdict is Verdict.Wrong or Verdict.ShapeMismatch or Verdict.DtypeMismatch).ToList();
        var heirs = rows.Where(r => r.Verdict == Verdict.Inherits).ToList();
        if (origins.Count == 0 && heirs.Count == 0) return null;
        bool likely = origins.Any(r => r.Verdict == Verdict.Wrong && !r.DecidedLocally) || heirs.Any(r => !r.DecidedLocally);
        var at = origins.Select(r => r.Name + (Cause(r) is { } c ? $" ({c})" : "")).ToList();
        string where = at.Count switch
        {
            0 => "",
            1 => at[0],
            _ => string.Join(", ", at.Take(at.Count - 1)) + " and " + at[^1],
        };
        var undecided = rows.Where(r => r.Verdict == Verdict.Undecided && heirs.Any(h => h.InheritsFrom.Contains(r.Name))).Select(r => r.Name).ToList();
        string text = origins.Count == 0 && undecided.Count > 0 ? $"no mistake proved, likely at {string.Join(" and ", undecided)} (float32 cannot decide)"
            : origins.Count == 0 ? "no mistake located"
            : $"{origins.Count} mistake{(origins.Count == 1 ? "" : "s")}, {(likely ? "likely " : "")}at {where}";
        if (heirs.Count > 0)
            text += $"; {heirs.Count} row{(heirs.Count == 1 ? "" : "s")} {(likely ? "may " : "")}inherit{(heirs.Count == 1 && !likely ? "s" : "")} " +
                    (origins.Count + undecided.Count == 1 ? "it" : "them");
        return text;
    }

    private static string? Cause(GradientRow r) => r.Verdict switch
    {
        Verdict.ShapeMismatch => "shape mismatch",
        Verdict.DtypeMismatch => "dtype mismatch",
        _ => r.Cause,
    };

    /// <summary>maxdiff, or "-" when nothing could be compared (a shape or dtype mismatch).</summary>
    public static string MaxDiff(GradientRow row) =>
        row.Verdict is Verdict.ShapeMismatch or Verdict.DtypeMismatch ? "-" : NumberFormat.Diff(row.MaxDiff);

    /// <summary>Ulps at the worst element; "sign differs" when the two values there have opposite signs, "-" when not countable.</summary>
    public static string UlpsText(GradientRow row) => row.Ulps is { } u ? NumberFormat.Ulps(u)
        : row.WorstIndex is not null && row.ManualAtWorst * row.ReferenceAtWorst < 0 ? "sign differs" : "-";

    private static string Flag(bool b) => b ? "True" : "False";

    /// <summary>Nine significant digits: enough to tell two float32 values apart.</summary>
    private static string Value(double d) => d.ToString("G9", CultureInfo.InvariantCulture);

    private static string Hint(GradientRow row)
    {
        var parts = new List<string>();
        if (row.Hint is not null) parts.Add(row.Hint);
        if (row.Evidence is not null && row.Verdict is not (Verdict.Inherits or Verdict.Exact)) parts.Add(row.Evidence);
        if (row.Rounding is not null) parts.Add(row.Rounding);
        if (row.Numeric is { Passed: false } n) parts.Add("numeric: " + n.Summary);
        return string.Join(" — ", parts);
    }
}
