using ManualVsAuto.Checking;
using ManualVsAuto.Reporting;

namespace ManualVsAuto.Workbook;

/// <summary>How one answer in a workbook fared.</summary>
public enum Outcome
{
    /// <summary>Still a blank (it threw <see cref="NotAttempted"/>); an answer that returns null is wrong ("returned null").</summary>
    NotAttempted,

    /// <summary>Chained grade only: an upstream gradient of yours is missing, so this line cannot be chained yet.</summary>
    NeedsUpstream,

    Exact,
    Approximate,
    Wrong,

    /// <summary>Your code threw (e.g. a shape error inside a TorchSharp op).</summary>
    Error,
}

/// <summary>
/// One graded answer: a gradient of Exercise 1, a fused formula (Exercises 2 and 3) or the training run (Exercise 4).
/// </summary>
/// <param name="Name">The lecture's name of the tensor whose gradient it is (as in the lecture's cmp), or "training".</param>
/// <param name="Answer">Where you write it: the method, e.g. <c>dbnvar</c>.</param>
/// <param name="Passed">Meets what the exercise asks: exact for Exercise 1, approximate for the fused formulas, within the training tolerance for Exercise 4.</param>
/// <param name="Row">The comparison with autograd, when one was made.</param>
/// <param name="Message">Why it is wrong or failed, when the row does not say it (a shape, an exception, a training step).</param>
public sealed record Grade(string Name, string Answer, string Shape, Outcome Outcome, bool Passed, GradientRow? Row = null, string? Message = null)
{
    /// <summary>Where the answer is, as <c>Exercise1.cs(LINE,COL)</c> (editors link it): the exception's line, else the method's first; null when it passes.</summary>
    public string? Location { get; init; }

    /// <summary>What the short cause (<see cref="Message"/>) leaves out: the full message, the hint, the fix.</summary>
    public string? Detail { get; init; }

    public bool Attempted => Outcome is not (Outcome.NotAttempted or Outcome.NeedsUpstream);

    /// <summary>The verdict as the report prints it.</summary>
    public string Verdict => Outcome switch
    {
        Outcome.NotAttempted => "not attempted",
        Outcome.NeedsUpstream => "-",
        Outcome.Exact => "exact",
        Outcome.Approximate => "approximate",
        Outcome.Wrong => "WRONG",
        _ => "ERROR",
    };

    /// <summary>
    /// The cause in a few words: the mistake's short cause (e.g. "n vs n−1"; the full hint is in <see cref="Explain"/>),
    /// else the shape problem's hint or the exception; null when there is none.
    /// </summary>
    public string? Cause => (Message ?? Row?.Cause ?? (Row?.Hint is { } h ? StripHintPrefix(h).TrimEnd('.') : null)) is { } c ? WorkbookGrader.Short(c) : null;

    /// <summary>Everything a learner needs to fix it, for a failing test's message.</summary>
    public string Explain()
    {
        string head = (Location is null ? "" : Location + ": ") + $"{Answer}: {Verdict}";
        return Outcome switch
        {
            Outcome.NotAttempted => head + " yet",
            Outcome.NeedsUpstream => $"{Answer}: {Message}",
            Outcome.Approximate when !Passed && Message is not null => $"{head} — {Message}\n" + SharedReportText.Detail(Row!),
            Outcome.Approximate when !Passed =>
                $"{head}, not exact — the right maths with other floating-point operations than autograd's " +
                $"(maxdiff {PlainTable.MaxDiff(Row!)}, {PlainTable.UlpsText(Row!)} ulps). Exact needs the very ops autograd's backward uses.\n" +
                SharedReportText.Detail(Row!),
            Outcome.Wrong or Outcome.Error => head + (Cause is null ? "" : $" — {Cause}") +
                (Detail is null ? "" : "\n" + Detail) + (Row is null || SharedReportText.Detail(Row) is not { } d ? "" : "\n" + d),
            _ => head + (Message is null ? "" : $" — {Message}"),
        };
    }

    private static string StripHintPrefix(string hint) => hint.StartsWith("hint: ", StringComparison.Ordinal) ? hint["hint: ".Length..] : hint;
}
