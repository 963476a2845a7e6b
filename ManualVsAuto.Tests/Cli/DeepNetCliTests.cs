using System.Globalization;

namespace ManualVsAuto.Tests;

/// <summary><c>--model deep</c> on train, sample and check, as a user runs them: the notebook's defaults and numbers.</summary>
public sealed class DeepNetCliTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("mva-deep-cli-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private CliRunner.Result Run(params string[] args) => CliRunner.RunIn(dir, args);

    /// <summary>makemore_part3_bn.ipynb: 47,024 parameters, step 0 at 3.2870, after i = 0 … 1000 train 2.4002976417541504
    /// and val 2.3982467651367188 (the notebook's printed values; within 1e-4, as a backward that rounds differently from
    /// PyTorch's autograd cannot be bitwise after 1,001 steps). Then sample reads the checkpoint, and a second train
    /// refuses to overwrite it.</summary>
    [DataFact]
    public void TrainDefaultsAreTheNotebooksAndReproduceIt()
    {
        string ckpt = Path.Combine(dir, "deep.ckpt");
        var r = Run("train", "--model", "deep", "--checkpoint", ckpt);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Training deep, block size 3, 1,001 steps, n_hidden 100, batch 32, lr 0.1, seed 2147483647, manual backward; 47,024 parameters", r.Stderr);
        Assert.Contains("      0/   1001: 3.2870", r.Stdout);
        double Value(string key) => double.Parse(r.Stdout.Split('\n').Single(l => l.StartsWith(key + " ", StringComparison.Ordinal))[(key.Length + 1)..], CultureInfo.InvariantCulture);
        Assert.InRange(Value("train"), 2.4002976417541504 - 1e-4, 2.4002976417541504 + 1e-4);
        Assert.InRange(Value("val"), 2.3982467651367188 - 1e-4, 2.3982467651367188 + 1e-4);

        var s = Run("sample", "--checkpoint", ckpt, "--count", "3");
        Assert.Equal(0, s.ExitCode);
        Assert.Equal(3, s.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        var again = Run("train", "--model", "deep", "--checkpoint", ckpt);
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("already exists", again.Stderr);
    }

    [DataFact]
    public void CheckListsEveryLayerAndPasses()
    {
        var r = Run("check", "--model", "deep");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("layers[18] BatchNorm1d", r.Stdout);
        Assert.Contains("layers[0] Embedding weight", r.Stdout);
        Assert.Contains("--require approx: every row meets it", r.Stdout);
    }

    /// <summary>--diagnostics writes the tables and the four plots; a second run into the same folder is refused
    /// (one line, exit 2) and leaves them as they were.</summary>
    [DataFact]
    public void DiagnosticsWritesTablesAndPlotsAndNeverOverwritesThem()
    {
        string diag = Path.Combine(dir, "diag");
        var r = Run("train", "--model", "deep", "--steps", "30", "--checkpoint", Path.Combine(dir, "a.ckpt"), "--diagnostics", diag);
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("Diagnostics (30 sampled steps", r.Stderr);
        foreach (var f in new[] { "diagnostics.txt", "diagnostics.json", "diagnostics.csv", "activations.png", "gradients.png", "weight-gradients.png", "update-data.png" })
            Assert.True(new FileInfo(Path.Combine(diag, f)).Length > 0, f);
        Assert.Contains("layers[4] Tanh", File.ReadAllText(Path.Combine(diag, "diagnostics.txt")));
        using (var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(diag, "diagnostics.json")))) { }
        byte[] before = File.ReadAllBytes(Path.Combine(diag, "diagnostics.csv"));

        var again = Run("train", "--model", "deep", "--steps", "30", "--checkpoint", Path.Combine(dir, "b.ckpt"), "--diagnostics", diag);
        Assert.Equal(2, again.ExitCode);
        Assert.StartsWith("error: --diagnostics", again.Stderr.Trim());
        Assert.Single(again.Stderr.Trim().Split('\n'));
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(diag, "diagnostics.csv")));
        Assert.False(File.Exists(Path.Combine(dir, "b.ckpt")));
    }
}
