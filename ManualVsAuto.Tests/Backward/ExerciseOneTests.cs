using ManualVsAuto.Checking;

namespace ManualVsAuto.Tests;

/// <summary>Exercise 1: every manual gradient equals autograd's bit for bit, as in the lecture.</summary>
public class ExerciseOneTests
{
    public static readonly string[] Names =
    [
        "logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes", "logits", "h",
        "W2", "b2", "hpreact", "bngain", "bnbias", "bnraw", "bnvar_inv", "bnvar", "bndiff2", "bndiff", "bnmeani",
        "hprebn", "embcat", "W1", "b1", "emb", "C",
    ];

    public static TheoryData<string> Intermediates => new(Names);

    [DataTheory]
    [MemberData(nameof(Intermediates))]
    public void ManualGradientIsExact(string name)
    {
        var row = LectureFixture.Report.Rows.Single(r => r.Name == name);
        Assert.True(row.Exact, $"{name}: maxdiff {row.MaxDiff:e3}");
        Assert.True(row.Approximate);
        Assert.Equal(0.0, row.MaxDiff);
    }

    [DataFact]
    public void ReportHasTheLectureRowsInOrderThenTheFusedRows()
    {
        var names = LectureFixture.Report.Rows.Select(r => r.Name).ToArray();
        Assert.Equal(Names.Concat([LectureCheck.FusedCrossEntropyLabel, LectureCheck.FusedBatchNormLabel]), names);
    }

    [DataFact]
    public void LossMatchesCrossEntropyAndTheProbedValue()
    {
        var report = LectureFixture.Report;
        Assert.Equal(3.5571, report.Loss, 4);
        Assert.True(report.Forward.Single(f => f.Name == "loss_fast").MaxDiff < 1e-6);
    }
}
