using ManualVsAuto.Checking;
using ManualVsAuto.Reporting;

namespace ManualVsAuto.Tests;

/// <summary>
/// The configurations where float32 could not tell a right formula from a wrong one (the fused batchnorm row at tiny
/// batches) exit 0, with the float64 evidence in the report.
/// </summary>
public class VerdictCliTests
{
    [DataTheory]
    [InlineData("2", "64")]
    [InlineData("3", "128")]
    public void IllConditionedFloat32RowsPassOnTheFloat64Evidence(string batch, string hidden)
    {
        var r = CliRunner.Run("check", "--batch-size", batch, "--hidden", hidden, "--numeric", "off", "--format", "json");
        Assert.Equal(0, r.ExitCode);
        var doc = JsonRenderer.Parse(r.Stdout);
        Assert.True(doc.Passed);
        var fused = doc.Rows.Single(x => x.Name == LectureCheck.FusedBatchNormLabel);
        Assert.False(fused.Approximate); // outside allclose in float32 …
        Assert.Equal(Verdict.IllConditioned, fused.Verdict); // … but right in float64
        Assert.Contains("float64 rerun", fused.Evidence);
        Assert.All(doc.Rows.Take(LectureCheck.StepByStepRowCount), x => Assert.Equal(Verdict.Exact, x.Verdict));
    }
}
