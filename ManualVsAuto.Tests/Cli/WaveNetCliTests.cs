using ManualVsAuto.Reporting;

namespace ManualVsAuto.Tests;

/// <summary><c>--model wavenet</c> on check, train and sample, as a user runs them.</summary>
public sealed class WaveNetCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mva-wavenet-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private CliRunner.Result Run(params string[] args) => CliRunner.RunIn(dir, args);

    [DataFact]
    public void CheckListsEveryLayerAndPasses()
    {
        var r = Run("check", "--model", "wavenet", "--require", "exact");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("loss 3.3167", r.Stdout);
        Assert.Contains("wavenet · seed 42 · batch 32 · hidden 128", r.Stdout);
        Assert.Contains("layers[11] BatchNorm1d gamma", r.Stdout);
        Assert.Contains("layers[0] Embedding weight", r.Stdout);
        Assert.Contains("22/22 exact · 4/4 approximate by construction · numeric 12/12 pass", r.Stdout);
    }

    /// <summary>Refused by the WaveNet's own memory estimate before anything is allocated: one line, exit code 2.</summary>
    [DataFact]
    public void CheckRefusesABatchTooLargeForMemoryInOneLine()
    {
        var r = Run("check", "--model", "wavenet", "--batch-size", "2000000000");
        Assert.Equal(2, r.ExitCode);
        Assert.Matches(@"^error: check --model wavenet with --hidden 128, --batch-size 2000000000 and --dtype float32 needs about [\d,]+ GB of memory, but only .* is available; try a smaller --hidden or --batch-size\.$", r.Stderr.Trim());
        Assert.Empty(r.Stdout);
    }

    /// <summary>train's own WaveNet estimate: one line, exit code 2, no checkpoint written.</summary>
    [DataFact]
    public void TrainRefusesABatchTooLargeForMemoryInOneLine()
    {
        string ckpt = Path.Combine(dir, "big.ckpt");
        var r = Run("train", "--model", "wavenet", "--batch-size", "2000000000", "--checkpoint", ckpt);
        Assert.Equal(2, r.ExitCode);
        Assert.Matches(@"^error: train --model wavenet with --hidden 128 and --batch-size 2000000000 needs about [\d,]+ GB of memory, but only .* is available; try a smaller --hidden or --batch-size\.$", r.Stderr.Trim());
        Assert.False(File.Exists(ckpt));
    }

    /// <summary>Every report format says which net was checked; the MLP's text header stays as the lecture's.</summary>
    [DataFact]
    public void ReportsNameTheNet()
    {
        var json = JsonRenderer.Parse(Run("check", "--model", "wavenet", "--numeric", "off", "--format", "json").Stdout);
        Assert.Equal("wavenet", json.Settings.Model);
        var csv = Run("check", "--model", "wavenet", "--numeric", "off", "--format", "csv").Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(csv.Skip(1), line => Assert.EndsWith(",wavenet", line.TrimEnd('\r')));
        Assert.StartsWith("**loss** 3.3167 · wavenet · seed 42", Run("check", "--model", "wavenet", "--numeric", "off", "--format", "markdown").Stdout);
        Assert.DoesNotContain("mlp", Run("check", "--numeric", "off").Stdout.Split('\n')[1]);
    }

    [Fact]
    public void CheckPlotIsTheMlpsOnly()
    {
        var r = Run("check", "--model", "wavenet", "--plot", Path.Combine(dir, "d.png"));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("error: --plot draws the MLP's dlogits: it applies to --model mlp only.", r.Stderr.Trim());
    }

    [DataFact]
    public void TrainSampleAndResumeWithTheModelInTheCheckpoint()
    {
        string ckpt = Path.Combine(dir, "w.ckpt");
        var r = Run("train", "--model", "wavenet", "--steps", "300", "--hidden", "16", "--checkpoint", ckpt, "--verify-every", "100");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Training wavenet, block size 8, 300 steps, n_hidden 16", r.Stderr);
        Assert.Contains("the 12 manual parameter gradients match autograd", r.Stderr);
        var lines = r.Stdout.TrimEnd().Split('\n');
        Assert.StartsWith("      0/    300: ", lines[0]);
        Assert.StartsWith("train ", lines[1]);
        Assert.StartsWith("val ", lines[2]);
        Assert.Equal(20, lines.Length - 3);

        var s = Run("sample", "--checkpoint", ckpt, "--count", "3");
        Assert.Equal(0, s.ExitCode);
        Assert.Equal(lines[3..6], s.Stdout.Trim().Split('\n')); // the same generator seed: the same names

        var wrong = Run("sample", "--model", "mlp", "--checkpoint", ckpt);
        Assert.Equal(2, wrong.ExitCode);
        Assert.Contains("holds the wavenet net, not --model mlp", wrong.Stderr);

        var resume = Run("train", "--resume", "--model", "mlp", "--checkpoint", ckpt);
        Assert.Equal(2, resume.ExitCode);
        Assert.Contains("--model mlp (the checkpoint has wavenet)", resume.Stderr);
    }
}
