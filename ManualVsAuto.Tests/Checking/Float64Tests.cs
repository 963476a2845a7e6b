using ManualVsAuto.Checking;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>--dtype float64: Exercise 1 stays exact and the fused rows' error falls by many orders of magnitude.</summary>
public class Float64Tests
{
    private static readonly Lazy<CheckReport> report64 = new(() =>
        LectureCheck.Run(LectureFixture.Split.Train, new CheckSettings(Dtype: ScalarType.Float64)));

    [DataFact]
    public void ExerciseOneRowsAreAllExactInFloat64()
    {
        var rows = report64.Value.Rows.Where(r => r.ExpectExact).ToList();
        Assert.Equal(LectureCheck.StepByStepRowCount, rows.Count);
        Assert.All(rows, r => Assert.True(r.Exact, r.Name));
    }

    [DataTheory]
    [InlineData(LectureCheck.FusedCrossEntropyLabel)]
    [InlineData(LectureCheck.FusedBatchNormLabel)]
    public void FusedRowsAreMillionsOfTimesCloserInFloat64(string label)
    {
        double d32 = LectureFixture.Report.Rows.Single(r => r.Name == label).MaxDiff;
        double d64 = report64.Value.Rows.Single(r => r.Name == label).MaxDiff;
        Assert.True(d64 < d32 * 1e-6, $"{label}: float32 {d32:e3}, float64 {d64:e3}");
    }

    [DataFact]
    public void SameParametersSoSameLossToFloat32Precision() =>
        Assert.Equal(LectureFixture.Report.Loss, report64.Value.Loss, 5);
}
