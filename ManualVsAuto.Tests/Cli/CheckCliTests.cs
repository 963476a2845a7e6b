using ManualVsAuto.Reporting;

namespace ManualVsAuto.Tests;

/// <summary>The check command as a user runs it: exit codes, one-line errors, formats.</summary>
public class CheckCliTests
{
    [DataFact]
    public void DefaultRunPrintsAllRowsAndExitsZero()
    {
        var r = CliRunner.Run();
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("26/26 exact", r.Stdout);
        Assert.Contains("hprebn (fused BN)", r.Stdout);
        Assert.Contains("bnvar_inv", r.Stdout);
    }

    [DataFact]
    public void TwoRunsPrintTheSameReport() =>
        Assert.Equal(CliRunner.Run("check", "--format", "json").Stdout, CliRunner.Run("check", "--format", "json").Stdout);

    [Theory]
    [InlineData("--batch-size", "1")]
    [InlineData("--hidden", "0")]
    [InlineData("--hidden", "abc")]
    [InlineData("--threads", "0")]
    [InlineData("--seed", "abc")]
    [InlineData("--dtype", "float16")]
    [InlineData("--format", "xml")]
    [InlineData("--require", "perfect")]
    [InlineData("--no-such-option", "1")]
    public void BadValueIsAOneLineErrorWithExitCode2(string option, string value)
    {
        var r = CliRunner.Run("check", option, value);
        Assert.Equal(2, r.ExitCode);
        var lines = r.Stderr.Trim().Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error:", lines[0]);
        Assert.Contains("--help", lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr); // no stack trace
    }

    [Fact]
    public void MissingDataFileIsAnInputError()
    {
        var r = CliRunner.Run("check", "--data", "/nonexistent/names.txt");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("/nonexistent/names.txt", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [DataFact]
    public void Float64JsonReportIsAllExact()
    {
        var r = CliRunner.Run("check", "--dtype", "float64", "--format", "json", "--require", "exact");
        Assert.Equal(0, r.ExitCode);
        var doc = JsonRenderer.Parse(r.Stdout);
        Assert.Equal("float64", doc.Settings.Dtype);
        Assert.All(doc.Rows.Where(x => x.ExpectExact), x => Assert.True(x.Exact, x.Name));
        Assert.Contains(doc.Rows, x => x.Numeric is not null);
    }

    [DataFact]
    public void PlotWritesAPng()
    {
        var path = Path.Combine(Path.GetTempPath(), $"mva-dlogits-{Guid.NewGuid():N}.png");
        try
        {
            var r = CliRunner.Run("check", "--plot", path, "--numeric", "off");
            Assert.Equal(0, r.ExitCode);
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void PlotPathThatIsNotPngIsRejectedBeforeAnyWork()
    {
        var r = CliRunner.Run("check", "--plot", "/tmp/dlogits.jpg");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(".png", r.Stderr);
    }
}
