using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using ManualVsAuto.Model;
using ManualVsAuto.Plots;
using ManualVsAuto.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace ManualVsAuto.Cli;

/// <summary><c>train</c>: Exercise 4, training the MLP with the manual backward (or autograd), with checkpoints.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var d = new TrainingSettings();
        var steps = Opt.Int("--steps", d.Steps, "training steps", 1);
        var hidden = Opt.Int("--hidden", d.Hidden, "hidden units (n_hidden)", 1);
        var batch = Opt.Int("--batch-size", d.BatchSize, "minibatch size, drawn with replacement", 2, "the variance divides by n-1");
        var lr = Opt.PositiveDouble("--lr", d.Lr, "learning rate; lr/10 from --decay-step on");
        var decay = Opt.Int("--decay-step", d.DecayStep, "step from which the learning rate is lr/10", 0);
        var seed = Opt.Seed(d.Seed, "seed of the torch generator for the init and the minibatches");
        var threads = Opt.Threads();
        var backward = new Option<string>("--backward")
        {
            Description = "manual: the hand-derived backward (Exercise 4); autograd: loss.backward() + optim.SGD",
            DefaultValueFactory = _ => "manual",
        };
        backward.AcceptOnlyFromAmong("manual", "autograd");
        var checkpoint = Opt.Path("--checkpoint", $"checkpoint file, saved every --checkpoint-every steps and at the end (default: <repo>/checkpoints/<model>.ckpt, now {CheckpointLocation.Default()})");
        var every = Opt.Int("--checkpoint-every", 10_000, "save a checkpoint every N steps", 1);
        var resume = new Option<bool>("--resume") { Description = "continue the run in --checkpoint; its settings apply, except a larger --steps extends it (default: off)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "start a new run over an existing checkpoint (default: off; without it an existing checkpoint is an error)" };
        var plot = Opt.Path("--plot", "write a PNG of the training loss (log10, block means) to this path (default: none)");
        var verify = Opt.Int("--verify-every", 0, "every K steps also run autograd on the same minibatch and compare each parameter's gradient, as check does, at the training tolerance (diagnostic, slow; 0 = off)", 0);
        var data = Opt.Path("--data", "path to names.txt (default: data/names.txt in the repository, downloaded if missing)");
        var model = Opt.Model(k => k.IsDefault ? k.Description : string.Create(CultureInfo.InvariantCulture,
            $"{k.Description} (its defaults: --hidden {k.LectureNHidden}, --decay-step {k.LectureDecayStep}, --seed {k.LectureSeed})"));

        var cmd = new Command("train", "Exercise 4: train the MLP with the manual backward (or autograd), print losses, calibrate batchnorm, sample. " +
            "--resume --steps N extends a run.")
        {
            steps, hidden, batch, lr, decay, seed, threads, backward, checkpoint, every, resume, overwrite, plot, verify, data, model,
        };
        cmd.SetAction(r =>
        {
            BackwardKinds.TryParse(r.GetValue(backward), out var kind);
            var modelKind = Opt.ModelOf(r, model);
            bool Explicit(Option o) => r.GetResult(o) is { Implicit: false };
            var md = TrainingSettings.LectureDefaults(modelKind); // the option defaults are the MLP's
            T Value<T>(Option<T> o, T modelDefault) => Explicit(o) ? r.GetValue(o)! : modelDefault;
            var requested = new TrainingSettings(r.GetValue(steps), Value(hidden, md.Hidden), r.GetValue(batch), r.GetValue(lr),
                Value(decay, md.DecayStep), Value(seed, md.Seed), kind, modelKind);
            var explicitNames = new (Option Option, Func<TrainingSettings, object> Value)[]
            {
                (steps, s => s.Steps), (hidden, s => s.Hidden), (batch, s => s.BatchSize), (lr, s => s.Lr),
                (decay, s => s.DecayStep), (seed, s => s.Seed), (backward, s => s.Backward), (model, s => s.Model),
            }.Where(x => Explicit(x.Option)).ToList();
            var request = new TrainRequest(requested, CheckpointLocation.Resolve(r.GetValue(checkpoint), modelKind), r.GetValue(every),
                r.GetValue(resume), r.GetValue(overwrite), r.GetValue(plot), r.GetValue(verify), r.GetValue(data), r.GetValue(threads),
                explicitNames.Select(x => (x.Option.Name, x.Value)).ToList());
            return Run(request);
        });
        return cmd;
    }

    /// <param name="ExplicitSettings">The settings given on the command line, by option name, with how to read them from settings.</param>
    private sealed record TrainRequest(TrainingSettings Settings, string CheckpointPath, int CheckpointEvery, bool Resume, bool Overwrite,
        string? PlotPath, int VerifyEvery, string? DataPath, int Threads, IReadOnlyList<(string Name, Func<TrainingSettings, object> Value)> ExplicitSettings);

    private static int Run(TrainRequest q)
    {
        if (q.Resume && q.Overwrite) throw new UserInputException("--resume and --overwrite contradict each other: pick one.");
        if (q.PlotPath is not null && PngFile.Validate(q.PlotPath) == Path.GetFullPath(q.CheckpointPath)) // before the run, not after it
            throw new UserInputException($"--plot and --checkpoint are the same file ({q.PlotPath}): the plot would overwrite the checkpoint. Give them different paths.");
        var err = Console.Error;
        set_num_threads(Opt.CapThreads(q.Threads, err));

        Checkpoint? resumed = null;
        int? extendTo = null;
        var kind = CheckpointFile.Probe(q.CheckpointPath);
        if (q.Resume)
        {
            if (kind == CheckpointFile.FileKind.Missing)
                throw new CheckpointException($"{q.CheckpointPath}: no checkpoint there to resume (file not found).");
            resumed = CheckpointFile.Read(q.CheckpointPath);
            extendTo = NewStepCount(q, resumed);
            var conflicts = q.ExplicitSettings
                .Where(x => x.Name != "--steps" && !Equals(x.Value(q.Settings), x.Value(resumed.Settings)))
                .Select(x => $"{x.Name} {Show(x.Value(q.Settings))} (the checkpoint has {Show(x.Value(resumed.Settings))})")
                .ToList();
            if (conflicts.Count > 0)
                throw new UserInputException($"--resume continues the run in {q.CheckpointPath} with its own settings (only --steps may change); these flags disagree: {string.Join(", ", conflicts)}. Drop them, or start over with --overwrite.");
        }
        else if (kind == CheckpointFile.FileKind.Foreign)
        {
            throw new CheckpointException($"{q.CheckpointPath} exists and is not a ManualVsAuto checkpoint; not overwriting it. Choose another --checkpoint path.");
        }
        else if (kind == CheckpointFile.FileKind.Ours && !q.Overwrite)
        {
            var (existing, unreadable) = DescribeExisting(q.CheckpointPath);
            throw new UserInputException(unreadable is null
                ? $"{q.CheckpointPath} already exists ({existing}); pass --resume to continue it or --overwrite to start a new run over it."
                : $"{unreadable}; it cannot be resumed: pass --overwrite to start a new run over it, or choose another --checkpoint path.");
        }
        var settings = resumed is null ? q.Settings : resumed.Settings with { Steps = extendTo ?? resumed.Settings.Steps };
        if (q.VerifyEvery > 0 && settings.Backward != BackwardKind.Manual)
            throw new UserInputException("--verify-every checks the manual backward against autograd; it does not apply to --backward autograd.");

        var data = TrainingData.Load(q.DataPath, err, settings.BlockSize);
        DataSize.EnsureTrainingAndValidation("train", data.Split.Names, data.Path);
        if (resumed is not null) data.EnsureMatches(resumed, q.CheckpointPath);

        if (resumed is not null && resumed.Step == settings.Steps && !resumed.NeedsCalibration)
        {
            // A finished run: nothing to train; its result again, from the checkpoint.
            err.WriteLine($"{q.CheckpointPath} is a finished run ({resumed.Settings.Describe()}); nothing to train. Its result:");
            using var scope = NewDisposeScope();
            return PrintResult(ITrainedModel.FromCheckpoint(resumed, q.CheckpointPath, () => data.Split.Train), data, q.CheckpointPath);
        }

        MemoryBudget.Ensure(MemoryBudget.Train(settings, data.Split.Train.Count),
            $"train{Opt.ModelFlag(settings.Model)} with --hidden {settings.Hidden} and --batch-size {settings.BatchSize}");

        using var run = resumed is null ? TrainingRun.Start(settings, data.Sha256) : TrainingRun.Resume(resumed, extendTo, q.CheckpointPath);
        err.WriteLine(resumed is null
            ? $"Training {settings.Describe()}; {run.Trainer.ParameterCount:N0} parameters; checkpoint {q.CheckpointPath}"
            : extendTo is { } n && n != resumed.Settings.Steps
                ? $"Resuming at step {run.Step:N0} and extending the run from {resumed.Settings.Steps:N0} to {n:N0} steps: {settings.Describe()}; checkpoint {q.CheckpointPath}"
                : $"Resuming at step {run.Step:N0}: {settings.Describe()}; checkpoint {q.CheckpointPath}");
        if (resumed is null) CheckpointFile.Write(q.CheckpointPath, run.ToCheckpoint()); // claims the path; the last good state if step 1 diverges

        // Ctrl+C (SIGINT) and SIGTERM (a plain kill) both stop at the next step boundary and save; a second Ctrl+C
        // ends the process as usual.
        using var cancel = new CancellationTokenSource();
        int stopCode = ExitCodes.Interrupted;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (!cancel.IsCancellationRequested) { e.Cancel = true; cancel.Cancel(); }
        };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            if (cancel.IsCancellationRequested) return;
            c.Cancel = true;
            stopCode = ExitCodes.Terminated;
            cancel.Cancel();
        });
        TrainingResult result;
        int startStep = run.Step;
        var clock = Stopwatch.StartNew();
        try
        {
            var loop = new LoopOptions(q.CheckpointPath, q.CheckpointEvery, q.VerifyEvery);
            Func<ITrainingReporter, TrainingResult> body = reporter =>
                TrainingLoop.Run(run, data.Split.Train, loop, reporter, _ => cancel.IsCancellationRequested);
            bool terminal = !Console.IsOutputRedirected && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            result = terminal
                ? TerminalReporter.Run(AnsiConsole.Console, $"{settings.Backward.Name()} training", run.Step, settings.Steps, body)
                : body(new PlainReporter(Console.Out, err));
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        clock.Stop();

        switch (result.Outcome)
        {
            case TrainingOutcome.Interrupted:
                PrintSpeed(run.Step - startStep, clock.Elapsed, settings);
                WritePlot(q.PlotPath, run);
                string how = stopCode == ExitCodes.Terminated ? "Stopped by SIGTERM" : "Interrupted";
                string where = q.CheckpointPath == CheckpointLocation.Default(settings.Model)
                    ? Opt.ModelFlag(settings.Model)
                    : $" --checkpoint {q.CheckpointPath}";
                err.WriteLine($"{how} at step {result.Step:N0} of {settings.Steps:N0}; checkpoint saved to {q.CheckpointPath}. " +
                              $"Continue with: {HowToRun.Command($"train --resume{where}")}");
                return stopCode;
            case TrainingOutcome.Diverged:
            case TrainingOutcome.VerificationFailed:
                // No speed line: a run that blew up has no meaningful steps/s to report.
                err.WriteLine($"error: {result.Message}");
                return ExitCodes.Failed;
        }
        PrintSpeed(run.Step - startStep, clock.Elapsed, settings);

        // As the lecture: the MLP calibrates batchnorm over the training set (kept in the final checkpoint); the
        // WaveNet uses its running statistics.
        var (trained, final) = run.Finish(data.Split.Train);
        CheckpointFile.Write(q.CheckpointPath, final);
        err.WriteLine($"Final checkpoint (with batchnorm statistics): {q.CheckpointPath}");
        WritePlot(q.PlotPath, run);
        return PrintResult(trained, data, q.CheckpointPath);
    }

    /// <summary>The --steps of a resumed run: the checkpoint's, or a new total that is not below the step it reached.</summary>
    private static int? NewStepCount(TrainRequest q, Checkpoint c)
    {
        if (!q.ExplicitSettings.Any(x => x.Name == "--steps") || q.Settings.Steps == c.Settings.Steps) return null;
        if (q.Settings.Steps < c.Step)
            throw new UserInputException($"--steps {q.Settings.Steps:N0} is below step {c.Step:N0}, which the run in {q.CheckpointPath} has already reached; give at least {c.Step:N0}.");
        return q.Settings.Steps;
    }

    private static void PrintSpeed(int done, TimeSpan elapsed, TrainingSettings settings)
    {
        if (done <= 0) return;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{done:N0} steps in {elapsed.TotalSeconds:F1} s ({elapsed.TotalMicroseconds / done:F0} µs/step, {settings.Backward.Name()} backward)"));
    }

    /// <summary>The lecture's result: train and val loss with the calibrated batchnorm, then 20 names; exit code 1
    /// when the net blew up although every training loss stayed finite (batchnorm can hide huge weights until calibration).</summary>
    private static int PrintResult(ITrainedModel trained, TrainingData data, string checkpointPath)
    {
        double train = trained.SplitLoss(data.Split.Train), val = trained.SplitLoss(data.Split.Dev);
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"train {train}"));
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"val {val}"));
        if (!double.IsFinite(train) || !double.IsFinite(val))
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"error: the trained net's loss over the training split is {train} with the calibrated batchnorm: its parameters blew up; no names to sample. The checkpoint is kept: {checkpointPath}. Try a smaller --lr."));
            return ExitCodes.Failed;
        }
        foreach (var name in trained.Sample(SampleCommand.DefaultCount, SampleCommand.DefaultSeed))
            Console.Out.WriteLine(name);
        return ExitCodes.Ok;
    }

    private static void WritePlot(string? path, TrainingRun run)
    {
        if (path is null || run.Step == 0) return;
        LossPlot.Write(path, run.Losses(), run.Settings);
        Console.Error.WriteLine($"Loss plot: {Path.GetFullPath(path)}");
    }

    /// <summary>The run in an existing checkpoint (e.g. "a manual run at step 3,000 of 3,000"), or why it cannot be read.</summary>
    private static (string? Run, string? Unreadable) DescribeExisting(string path)
    {
        try
        {
            var c = CheckpointFile.Read(path);
            return ($"a {c.Settings.Backward.Name()} run at step {c.Step:N0} of {c.Settings.Steps:N0}", null);
        }
        catch (CheckpointException e)
        {
            return (null, e.Message.TrimEnd('.'));
        }
    }

    private static string Show(object o) => o switch
    {
        double x => x.ToString(CultureInfo.InvariantCulture),
        BackwardKind k => k.Name(),
        _ => Convert.ToString(o, CultureInfo.InvariantCulture) ?? "",
    };
}
