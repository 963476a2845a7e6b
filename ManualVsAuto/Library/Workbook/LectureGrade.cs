namespace ManualVsAuto.Workbook;

/// <summary>
/// Exercises 1–3 graded on the lecture's first minibatch. <see cref="Lines"/> judges each of your 26 gradients on its
/// own (computed from autograd's upstream gradients); <see cref="Chained"/> feeds your own gradients down the chain,
/// as the notebook's cmp does.
/// </summary>
public sealed record LectureGrade(IReadOnlyList<Grade> Lines, IReadOnlyList<Grade> Chained, Grade CrossEntropy, Grade BatchNorm)
{
    /// <summary>The per-line grade of the gradient of <paramref name="name"/> (the lecture's name, e.g. "bnvar").</summary>
    public Grade Line(string name) => Lines.Single(g => g.Name == name);

    /// <summary>e.g. <c>17/26 exact · 1 wrong (bnvar: …) · 8 not attempted</c>.</summary>
    public string Progress => WorkbookReport.Progress(Lines);

    /// <summary>The lecture's finish line: all 26 exact with your own gradients chained.</summary>
    public bool ChainedAllExact => Chained.All(g => g.Outcome == Outcome.Exact);
}
