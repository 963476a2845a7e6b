using System.Text;
using ManualVsAuto.Checking;
using ManualVsAuto.Reporting;

namespace ManualVsAuto.Workbook;

/// <summary>A workbook's grades as plain text: the lecture's table with a verdict per line, a progress line, the fused rows and training.</summary>
public static class WorkbookReport
{
    /// <summary>The one line a workbook made before Exercise 5 prints for it.</summary>
    public const string Exercise5Missing =
        "Exercise 5, the training loop: not in this workbook — copy Exercise5.cs and Exercise5Tests.cs from a new one (ManualVsAuto workbook new DIR) into it";

    /// <param name="loop">Exercise 5; null for a workbook without it.</param>
    public static string ToText(LectureGrade lecture, Grade training, Grade? loop = null)
    {
        var sb = new StringBuilder();
        sb.Append("Exercise 1: each gradient from autograd's upstream gradients, so every line is judged on its own;\n")
          .Append("'chained' feeds your own gradients down the chain, as the notebook's cmp does.\n");
        var rows = new List<string[]> { new[] { "#", "name", "shape", "on its own", "maxdiff", "ulps", "chained", "cause" } };
        for (int i = 0; i < lecture.Lines.Count; i++)
        {
            var g = lecture.Lines[i];
            var c = lecture.Chained[i];
            rows.Add([
                (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), g.Name, g.Shape, g.Verdict,
                g.Row is { } r ? PlainTable.MaxDiff(r) : "-", g.Row is { } u ? PlainTable.UlpsText(u) : "-",
                c.Outcome switch
                {
                    Outcome.NotAttempted => "-",
                    Outcome.NeedsUpstream => c.Message!,
                    _ when c.Row is { Verdict: Verdict.Inherits } inherited => "inherits ← d" + inherited.InheritsFrom[0],
                    _ => c.Verdict,
                },
                g.Outcome is Outcome.Wrong or Outcome.Error ? g.Cause ?? "" : "",
            ]);
        }
        Align(sb, rows, rightAligned: [0, 4, 5]);
        // The table says the cause in a few words; the full hint and the worst element follow.
        AppendDetails(sb, lecture.Lines);
        sb.Append(lecture.Progress).Append('\n');
        int chainedExact = lecture.Chained.Count(g => g.Outcome == Outcome.Exact);
        sb.Append($"chained: {chainedExact}/{lecture.Chained.Count} exact")
          .Append(lecture.ChainedAllExact ? " — the lecture's finish line: you are a backprop ninja\n" : " (26/26 is the lecture's finish line)\n");

        sb.Append('\n');
        var fused = new List<string[]> { new[] { "exercise", "name", "verdict", "maxdiff", "cause" } };
        foreach (var (ex, g) in new[] { ("2", lecture.CrossEntropy), ("3", lecture.BatchNorm) })
        {
            string verdict = g.Outcome is Outcome.Exact or Outcome.Approximate ? g.Verdict + (g.Passed ? " (passes: approximate by construction)" : "") : g.Verdict;
            fused.Add([ex, g.Name, verdict, g.Row is { } r ? NumberFormat.Diff(r.MaxDiff) : "-", g.Passed ? "" : g.Cause ?? ""]);
        }
        Align(sb, fused, rightAligned: [3]);
        AppendDetails(sb, [lecture.CrossEntropy, lecture.BatchNorm]);
        sb.Append($"Exercise 4, {training.Shape} on your backward beside autograd: ")
          .Append(training.Outcome switch
          {
              Outcome.NotAttempted => "not attempted",
              _ when training.Passed => "pass — " + training.Message,
              _ => training.Verdict + " — " + training.Message,
          })
          .Append('\n');
        AppendDetails(sb, [training]);
        if (loop is null)
        {
            sb.Append(Exercise5Missing).Append('\n');
            return sb.ToString();
        }
        sb.Append($"Exercise 5, your training loop for {loop.Shape} beside the lecture's: ")
          .Append(loop.Outcome switch
          {
              Outcome.NotAttempted => "not attempted",
              _ when loop.Passed => loop.Verdict + " — " + loop.Message,
              _ => loop.Verdict + " — " + loop.Cause,
          })
          .Append('\n');
        AppendDetails(sb, [loop]);
        return sb.ToString();
    }

    /// <summary>
    /// The detail line of each wrong or failing answer: where it is (<c>Exercise1.cs(LINE,COL)</c>, when known), the
    /// compared row's worst element and hint, and what the short cause leaves out.
    /// </summary>
    private static void AppendDetails(StringBuilder sb, IEnumerable<Grade> grades)
    {
        foreach (var g in grades.Where(g => g.Outcome is Outcome.Wrong or Outcome.Error))
        {
            string? row = g.Row is null ? null : SharedReportText.Detail(g.Row);
            if (row is null && g.Detail is null && g.Location is null) continue;
            sb.Append(g.Location is null ? "" : g.Location + ": ")
              .Append(row ?? $"{g.Name}: {g.Verdict}" + (g.Detail is null && g.Message is not null ? $" — {g.Message}" : ""))
              .Append(g.Detail is null ? "" : " — " + g.Detail)
              .Append('\n');
        }
    }

    /// <summary>
    /// e.g. <c>17/26 exact · 1 approximate · 1 wrong (bnvar: off by …) · 7 not attempted</c>; counts that are 0 are
    /// left out, except exact.
    /// </summary>
    public static string Progress(IReadOnlyList<Grade> lines)
    {
        var parts = new List<string> { $"{lines.Count(g => g.Outcome == Outcome.Exact)}/{lines.Count} exact" };
        void Add(Outcome o, string what, bool causes)
        {
            var these = lines.Where(g => g.Outcome == o).ToList();
            if (these.Count == 0) return;
            var text = $"{these.Count} {what}";
            if (causes) text += " (" + string.Join("; ", these.Select(g => g.Cause is { } c ? $"{g.Name}: {c}" : g.Name)) + ")";
            parts.Add(text);
        }
        Add(Outcome.Approximate, "approximate", causes: false);
        Add(Outcome.Wrong, "wrong", causes: true);
        Add(Outcome.Error, lines.Count(g => g.Outcome == Outcome.Error) == 1 ? "error" : "errors", causes: true);
        Add(Outcome.NotAttempted, "not attempted", causes: false);
        return string.Join(" · ", parts);
    }

    /// <summary>Columns padded with spaces, a dashed line under the header, trailing spaces trimmed.</summary>
    private static void Align(StringBuilder sb, List<string[]> rows, int[] rightAligned)
    {
        int columns = rows[0].Length;
        var widths = Enumerable.Range(0, columns).Select(c => rows.Max(r => r[c].Length)).ToArray();
        for (int i = 0; i < rows.Count; i++)
        {
            var cells = rows[i].Select((cell, c) => rightAligned.Contains(c) ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]));
            sb.Append(string.Join("  ", cells).TrimEnd()).Append('\n');
            if (i == 0) sb.Append(string.Join("  ", widths.Select(w => new string('-', w)))).Append('\n');
        }
    }
}
