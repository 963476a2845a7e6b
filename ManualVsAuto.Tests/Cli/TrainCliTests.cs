using System.Diagnostics;
using ManualVsAuto.Training;

namespace ManualVsAuto.Tests;

/// <summary>The <c>train</c> and <c>sample</c> commands as a user runs them: exit codes, messages, files.</summary>
public sealed class TrainCliTests : CliTestFolder
{
    private string Ckpt(string name = "run.ckpt") => Path.Combine(dir, name);

    /// <summary>A quick run: every test passes --checkpoint into its own temporary folder, never the default.</summary>
    private static string[] Small(string checkpoint, params string[] more) =>
        ["train", .. more.Contains("--steps") ? [] : new[] { "--steps", "300" }, "--hidden", "16", "--checkpoint", checkpoint, .. more];

    [Theory]
    [InlineData("--steps", "0", "--steps must be at least 1")]
    [InlineData("--steps", "-5", "--steps must be at least 1")]
    [InlineData("--batch-size", "1", "--batch-size must be at least 2 (the variance divides by n-1)")]
    [InlineData("--hidden", "0", "--hidden must be at least 1")]
    [InlineData("--lr", "0", "--lr must be a positive number")]
    [InlineData("--lr", "-0.1", "--lr must be a positive number")]
    [InlineData("--lr", "fast", "fast")]
    [InlineData("--steps", "many", "many")]
    [InlineData("--checkpoint-every", "0", "--checkpoint-every must be at least 1")]
    [InlineData("--backward", "magic", "magic")]
    public void BadTrainInputIsAOneLineUsageError(string option, string value, string expected)
    {
        var r = Run("train", option, value, "--checkpoint", Ckpt());
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        Assert.Single(r.Stderr.TrimEnd().Split('\n'));
        Assert.False(File.Exists(Ckpt()));
    }

    [Fact]
    public void NegativeSampleCountIsAUsageError()
    {
        var r = Run("sample", "--count", "-1", "--checkpoint", Ckpt());
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--count must be at least 0", r.Stderr);
    }

    [Fact]
    public void PlotPathThatIsNotPngIsRejectedBeforeTraining()
    {
        var r = Run(Small(Ckpt(), "--plot", Path.Combine(dir, "loss.jpg")));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(".png", r.Stderr);
        Assert.False(File.Exists(Ckpt())); // no run was started
    }

    [Fact]
    public void HelpDocumentsEveryOptionWithItsDefault()
    {
        var train = Run("train", "--help").Stdout;
        foreach (var (option, shown) in new[]
        {
            ("--steps", "200000"), ("--hidden", "200"), ("--batch-size", "32"), ("--lr", "0.1"), ("--decay-step", "100000"),
            ("--seed", "2147483647"), ("--threads", "1"), ("--backward", "manual"), ("--checkpoint", "checkpoints/mlp.ckpt"),
            ("--checkpoint-every", "10000"), ("--resume", "off"), ("--overwrite", "off"), ("--plot", "none"), ("--verify-every", "0"),
            ("--data", "data/names.txt"),
        })
        {
            var line = train.Split('\n').FirstOrDefault(l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal)) ?? "";
            Assert.True(line.Contains("default: ", StringComparison.Ordinal) && line.Contains(shown, StringComparison.Ordinal), $"{option}: {line}");
        }
        var sample = Run("sample", "--help").Stdout;
        Assert.Contains("[default: 20]", sample);
        Assert.Contains("[default: 2147483657]", sample);
    }

    [DataFact]
    public void TrainPrintsTheLectureLinesThenSampleReadsTheFinalCheckpointWithoutData()
    {
        string png = Path.Combine(dir, "loss.png");
        var r = Run(Small(Ckpt(), "--plot", png));
        Assert.Equal(0, r.ExitCode);
        var lines = r.Stdout.TrimEnd().Split('\n');
        Assert.Matches(@"^      0/    300: \d\.\d{4}$", lines[0]);
        Assert.Matches(@"^train \d\.\d+$", lines[1]);
        Assert.Matches(@"^val \d\.\d+$", lines[2]);
        var names = lines[3..];
        Assert.Equal(20, names.Length);
        Assert.All(names, n => Assert.Matches("^[a-z]*\\.$", n));

        var c = CheckpointFile.Read(Ckpt());
        Assert.True(c.Complete);
        Assert.NotNull(c.BatchNorm);
        Assert.Equal(300, c.Losses.Length);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png)[..4]);

        // The final checkpoint carries the calibration: sample needs no data (a missing --data path is never read).
        var s = Run("sample", "--checkpoint", Ckpt(), "--data", Path.Combine(dir, "absent.txt"));
        Assert.Equal(0, s.ExitCode);
        Assert.Equal(names, s.Stdout.TrimEnd().Split('\n'));
        var five = Run("sample", "--checkpoint", Ckpt(), "--count", "5", "--seed", "7");
        Assert.Equal(5, five.Stdout.TrimEnd().Split('\n').Length);
    }

    [DataFact]
    public void AnExistingCheckpointIsNeverOverwrittenByANewRun()
    {
        Assert.Equal(0, Run(Small(Ckpt(), "--steps", "50")).ExitCode);
        var before = File.ReadAllBytes(Ckpt());

        var again = Run(Small(Ckpt(), "--steps", "50"));
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("already exists", again.Stderr);
        Assert.Contains("--resume", again.Stderr);
        Assert.Contains("--overwrite", again.Stderr);
        Assert.Equal(before, File.ReadAllBytes(Ckpt()));

        var conflict = Run("train", "--resume", "--hidden", "32", "--checkpoint", Ckpt());
        Assert.Equal(2, conflict.ExitCode);
        Assert.Contains("--hidden 32 (the checkpoint has 16)", conflict.Stderr);
        Assert.Equal(before, File.ReadAllBytes(Ckpt()));

        var both = Run("train", "--resume", "--overwrite", "--checkpoint", Ckpt());
        Assert.Equal(2, both.ExitCode);

        var fresh = Run(Small(Ckpt(), "--steps", "50", "--overwrite", "--seed", "1"));
        Assert.Equal(0, fresh.ExitCode);
        Assert.NotEqual(before, File.ReadAllBytes(Ckpt()));
    }

    [Fact]
    public void ForeignTruncatedAndMissingCheckpointsAreClearErrorsThatTouchNothing()
    {
        string foreign = Ckpt("notes.txt");
        File.WriteAllText(foreign, "my notes");
        var r = Run(Small(foreign, "--overwrite"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("is not a ManualVsAuto checkpoint", r.Stderr);
        Assert.Equal(2, Run(Small(foreign, "--resume")).ExitCode);
        Assert.Equal("my notes", File.ReadAllText(foreign));

        string cut = Ckpt("cut.ckpt");
        File.WriteAllBytes(cut, "MVACKPT\0\u0001"u8.ToArray());
        var t = Run("train", "--resume", "--checkpoint", cut);
        Assert.Equal(2, t.ExitCode);
        Assert.Contains("is truncated", t.Stderr);
        var s = Run("sample", "--checkpoint", cut);
        Assert.Equal(2, s.ExitCode);
        Assert.Contains("is truncated", s.Stderr);
        Assert.Equal(9, new FileInfo(cut).Length);

        var m = Run("train", "--resume", "--checkpoint", Ckpt("missing.ckpt"));
        Assert.Equal(2, m.ExitCode);
        Assert.Contains("no checkpoint there", m.Stderr);
    }

    [DataFact]
    public void ANonFiniteLossStopsWithTheStepAndKeepsTheLastGoodCheckpoint()
    {
        // With batchnorm the loss stays finite up to lr ≈ 1e15; 1e20 overflows float32 within a few steps.
        var r = Run(Small(Ckpt(), "--lr", "1e20", "--checkpoint-every", "1000"));
        Assert.Equal(1, r.ExitCode);
        Assert.Matches(@"error: the loss became (NaN|∞|-∞|Infinity) at step \d+", r.Stderr);
        Assert.Contains("last good checkpoint is kept", r.Stderr);
        var c = CheckpointFile.Read(Ckpt());
        Assert.Equal(0, c.Step); // the state saved before the first step; nothing after the blow-up was written
        Assert.DoesNotContain("train ", r.Stdout);
    }

    [DataFact]
    public void VerificationRunsOnRequestAndAutogradBaselineTrains()
    {
        var v = Run(Small(Ckpt(), "--verify-every", "100"));
        Assert.Equal(0, v.ExitCode);
        Assert.Equal(3, v.Stderr.Split('\n').Count(l => l.Contains("match autograd")));

        var a = Run(Small(Ckpt("auto.ckpt"), "--backward", "autograd"));
        Assert.Equal(0, a.ExitCode);
        Assert.Equal(BackwardKind.Autograd, CheckpointFile.Read(Ckpt("auto.ckpt")).Settings.Backward);
        // Same init and batches: the printed first loss is the same either way.
        Assert.Equal(v.Stdout.Split('\n')[0], a.Stdout.Split('\n')[0]);

        var bad = Run(Small(Ckpt("auto2.ckpt"), "--backward", "autograd", "--verify-every", "10"));
        Assert.Equal(2, bad.ExitCode);
    }

    /// <summary>Starts a long run, waits until it trains, sends the signal, and returns how it ended.</summary>
    private async Task<(int ExitCode, string Stderr)> TrainThenSignal(string signal)
    {
        var psi = CliRunner.StartInfo(dir, "train", "--steps", "50000000", "--hidden", "8", "--checkpoint", Ckpt(), "--checkpoint-every", "1000000");
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string first = await p.StandardOutput.ReadLineAsync() ?? ""; // "      0/50000000: ...": training has started
        Assert.Contains("0/50000000", first);
        await Task.Delay(300);
        using (var kill = Process.Start("kill", [signal, p.Id.ToString()])) await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(timeout.Token);
        return (p.ExitCode, await stderr);
    }

    /// <summary>Ctrl+C (SIGINT) stops at a step boundary, saves, exits 130; --resume finishes the run, and a mid-run
    /// checkpoint can be sampled (it is calibrated from the data first).</summary>
    [PosixDataFact]
    public async Task CtrlCSavesAndExits130AndTheMidRunCheckpointSamples()
    {
        var (code, err) = await TrainThenSignal("-INT");
        Assert.Equal(130, code);
        Assert.Contains("Interrupted at step", err);
        Assert.Contains($"Continue with: dotnet run --project ManualVsAuto -- train --resume --checkpoint {Ckpt()}", err);
        var c = CheckpointFile.Read(Ckpt());
        Assert.InRange(c.Step, 1, 50_000_000 - 1);
        Assert.Equal(c.Step, c.Losses.Length);

        var s = Run("sample", "--checkpoint", Ckpt(), "--count", "3");
        Assert.Equal(0, s.ExitCode);
        Assert.Contains("calibrating over the training set", s.Stderr);
        Assert.Equal(3, s.Stdout.TrimEnd().Split('\n').Length);
    }

    /// <summary>A plain kill (SIGTERM) saves a checkpoint like Ctrl+C and exits 143.</summary>
    [PosixDataFact]
    public async Task SigtermSavesAndExits143()
    {
        var (code, err) = await TrainThenSignal("-TERM");
        Assert.Equal(143, code);
        Assert.Contains("Stopped by SIGTERM at step", err);
        var c = CheckpointFile.Read(Ckpt());
        Assert.InRange(c.Step, 1, 50_000_000 - 1);
        Assert.Equal(c.Step, c.Losses.Length);
    }

    [DataFact]
    public void ResumingAFinishedRunReprintsItsResultAndChangesNothing()
    {
        var first = Run(Small(Ckpt(), "--checkpoint-every", "100"));
        Assert.Equal(0, first.ExitCode);
        var before = File.ReadAllBytes(Ckpt());
        var r = Run("train", "--resume", "--checkpoint", Ckpt(), "--steps", "300");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("is a finished run", r.Stderr);
        Assert.Contains("nothing to train", r.Stderr);
        Assert.DoesNotContain("Resuming", r.Stderr);
        Assert.Equal(first.Stdout.Split('\n')[1..], r.Stdout.Split('\n')); // train, val and the names, without the loss line
        Assert.Equal(before, File.ReadAllBytes(Ckpt()));
    }

    [DataFact]
    public void ResumeWithMoreStepsExtendsTheRunToTheSameResultAsALongerRun()
    {
        Assert.Equal(0, Run(Small(Ckpt("short.ckpt"), "--steps", "150")).ExitCode);
        var extended = Run("train", "--resume", "--checkpoint", Ckpt("short.ckpt"), "--steps", "300");
        Assert.Equal(0, extended.ExitCode);
        Assert.Contains("extending the run from 150 to 300 steps", extended.Stderr);
        Assert.Equal(0, Run(Small(Ckpt("straight.ckpt"), "--steps", "300")).ExitCode);

        var a = CheckpointFile.Read(Ckpt("short.ckpt"));
        var b = CheckpointFile.Read(Ckpt("straight.ckpt"));
        Assert.Equal(300, a.Settings.Steps);
        Assert.Equal(b.Losses, a.Losses);
        Assert.Equal(b.Parameters.SelectMany(p => p.Array.Data), a.Parameters.SelectMany(p => p.Array.Data));

        var shorter = Run("train", "--resume", "--checkpoint", Ckpt("short.ckpt"), "--steps", "200");
        AssertOneLineError(shorter, 2, "--steps 200 is below step 300");
    }

    [Theory]
    [InlineData(1_000, 100_000, "lr 0.1, seed")]
    [InlineData(150_000, 100_000, "lr 0.1 then 0.01 from step 100,000, seed")]
    [InlineData(1_000, 0, "lr 0.01, seed")]
    public void TheRunHeaderShowsOnlyTheScheduleThatApplies(int steps, int decayStep, string schedule) =>
        Assert.Contains(schedule, new TrainingSettings(Steps: steps, DecayStep: decayStep).Describe());

    [DataFact]
    public void ADivergedRunPrintsNoSpeedLine()
    {
        var r = Run(Small(Ckpt(), "--lr", "1e20"));
        Assert.Equal(1, r.ExitCode);
        Assert.DoesNotContain("steps in", r.Stderr);
        Assert.Contains("Training 300 steps, n_hidden 16, batch 32, lr 1E+20, seed", r.Stderr);
        Assert.DoesNotContain("then", r.Stderr.Split('\n')[0]);
    }
}
