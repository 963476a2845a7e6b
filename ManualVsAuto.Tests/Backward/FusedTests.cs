using ManualVsAuto.Checking;

namespace ManualVsAuto.Tests;

/// <summary>Exercises 2 and 3: the fused backward passes match autograd approximately, as in the lecture.</summary>
public class FusedTests
{
    [DataTheory]
    [InlineData(LectureCheck.FusedCrossEntropyLabel, 1e-7)]
    [InlineData(LectureCheck.FusedBatchNormLabel, 1e-7)]
    public void FusedGradientIsApproximate(string label, double bound)
    {
        var row = LectureFixture.Report.Rows.Single(r => r.Name == label);
        Assert.True(row.Approximate, $"{label}: maxdiff {row.MaxDiff:e3}");
        Assert.InRange(row.MaxDiff, 0, bound);
    }

    [DataTheory]
    [InlineData("loss_fast", 1e-6)]
    [InlineData("hpreact_fast", 1e-5)]
    public void FusedForwardIsClose(string name, double bound) =>
        Assert.InRange(LectureFixture.Report.Forward.Single(f => f.Name == name).MaxDiff, 0, bound);
}
