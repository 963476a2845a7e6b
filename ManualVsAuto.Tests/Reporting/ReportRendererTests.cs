using ManualVsAuto.Checking;
using ManualVsAuto.Cli;
using ManualVsAuto.Reporting;

namespace ManualVsAuto.Tests;

/// <summary>The report seam: a renderer registered by a test is one of check's --format choices, with its help.</summary>
[Collection(InProcessCli.Name)]
public sealed class ReportRendererTests : CliTestFolder
{
    private sealed class RowNames : IReportRenderer
    {
        public string Name => "names";

        public string Description => "one row name per line";

        public void Write(CheckReport report, RequiredLevel require, TextWriter output)
        {
            foreach (var row in report.Rows) output.WriteLine(row.Name);
        }
    }

    [Fact]
    public void TheBuiltInFormatsAreTheTableFirstThenTheLibrarys() =>
        Assert.Equal(["table", "markdown", "json", "csv"], CheckCommand.Renderers.Select(r => r.Name));

    [Fact]
    public void ARegisteredRendererIsAFormatChoiceWithItsHelp()
    {
        string data = Names(10);
        using (ReportRenderers.Register(new RowNames()))
        {
            Assert.Contains("names: one row name per line", InProcessCli.Run("check", "--help").Stdout);
            Assert.Contains("--format must be one of table, markdown, json, csv, names, got 'xml'.", InProcessCli.Run("check", "--format", "xml").Stderr);

            var r = InProcessCli.Run("check", "--format", "names", "--numeric", "off", "--data", data);
            Assert.True(r.ExitCode == 0, r.Output);
            var json = JsonRenderer.Parse(InProcessCli.Run("check", "--format", "json", "--numeric", "off", "--data", data).Stdout);
            Assert.Equal(json.Rows.Select(x => x.Name), r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        Assert.Equal(2, InProcessCli.Run("check", "--format", "names", "--numeric", "off", "--data", data).ExitCode);
    }

    [Fact]
    public void AFormatNameIsRegisteredOnce() =>
        Assert.Throws<ArgumentException>(() => ReportRenderers.Register(CsvRenderer.Instance));
}
