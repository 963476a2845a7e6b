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
        var steps = OptionFactory.Int("--steps", d.Steps, "training steps", 1, max: TrainingSettings.MaxSteps);
        var hidden = OptionFactory.Int("--hidden", d.NHidden, "hidden units (n_hidden)", 1);
        var batch = OptionFactory.Int("--batch-size", d.BatchSize, "minibatch size, drawn with replacement", 2, "the variance divides by n-1");
        var lr = OptionFactory.PositiveDouble("--lr", d.Lr, "learning rate; lr/10 from --decay-step on");
        var decay = OptionFactory.Int("--decay-step", d.DecayStep, "step from which the learning rate is lr/10", 0);
        var seed = OptionFactory.Seed(d.Seed, "seed of the torch generator for the init and the minibatches");
        var threads = OptionFactory.Threads();
        var backward = new Option<string>("--backward")
        {
            Description = "manual: the hand-derived backward (Exercise 4); autograd: loss.backward() + optim.SGD",
            DefaultValueFactory = _ => "manual",
        };
        backward.AcceptOnlyFromAmong("manual", "autograd");
        var checkpoint = OptionFactory.Path("--checkpoint", $"checkpoint file, saved every --checkpoint-every steps and at the end (default: <repo>/checkpoints/<model>.ckpt, now {CheckpointLocation.Default()})");
        var every = OptionFactory.Int("--checkpoint-every", 10_000, "save a checkpoint every N steps", 1);
        var resume = new Option<bool>("--resume") { Description = "continue the run in --checkpoint; its settings apply, except a larger --steps extends it (default: off)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "start a new run over an existing checkpoint (default: off; without it an existing checkpoint is an error)" };
        var plot = OptionFactory.Path("--plot", "write a PNG of the training loss (log10, block means) to this path (default: none)");
        var verify = OptionFactory.Int("--verify-every", 0, "every K steps also run autograd on the same minibatch and compare each parameter's gradient, as check does, at the training tolerance (diagnostic, slow; 0 = off)", 0);
        var diagnostics = OptionFactory.Path("--diagnostics", "write makemore part 3's look inside the training to this folder: per layer the Tanh activations, output gradients, weight gradients (grad:data) and every parameter's update:data, from the backward's own gradients, as tables (diagnostics.txt, .json, .csv) and four PNG plots; warnings go to stderr (default: none)");
        var diagnosticsEvery = OptionFactory.Int("--diagnostics-every", 0, "with --diagnostics, sample every K steps and the last (0 = about 1,000 samples over the run)", 0);
        var data = OptionFactory.Path("--data", "path to names.txt (default: data/names.txt in the repository, downloaded if missing)");
        var model = OptionFactory.Model(k => k.IsDefault ? k.Description : string.Create(CultureInfo.InvariantCulture,
            $"{k.Description} (its defaults: --steps {k.LectureSteps}, --hidden {k.LectureNHidden}, --decay-step {k.LectureDecayStep}, --seed {k.LectureSeed})"));

        var cmd = new Command("train", "Exercise 4: train the MLP with the manual backward (or autograd), print losses, calibrate batchnorm, sample. " +
            "--resume --steps N extends a run.")
        {
            steps, hidden, batch, lr, decay, seed, threads, backward, checkpoint, every, resume, overwrite, plot, verify, diagnostics, diagnosticsEvery, data, model,
        };
        cmd.SetAction(r =>
        {
            BackwardKinds.TryParse(r.GetValue(backward), out var kind);
            var modelKind = OptionFactory.ModelOf(r, model);
            bool Explicit(Option o) => r.GetResult(o) is { Implicit: false };
            var md = TrainingSettings.LectureDefaults(modelKind); // the option defaults are the MLP's
            T Value<T>(Option<T> o, T modelDefault) => Explicit(o) ? r.GetValue(o)! : modelDefault;
            var requested = new TrainingSettings(Value(steps, md.Steps), Value(hidden, md.NHidden), r.GetValue(batch), r.GetValue(lr),
                Value(decay, md.DecayStep), Value(seed, md.Seed), kind, modelKind);
            var explicitNames = new (Option Option, Func<TrainingSettings, object> Value)[]
            {
                (steps, s => s.Steps), (hidden, s => s.NHidden), (batch, s => s.BatchSize), (lr, s => s.Lr),
                (decay, s => s.DecayStep), (seed, s => s.Seed), (backward, s => s.Backward), (model, s => s.Model),
            }.Where(x => Explicit(x.Option)).ToList();
            var request = new TrainRequest(requested, CheckpointLocation.Resolve(r.GetValue(checkpoint), modelKind), r.GetValue(resume),
                r.GetValue(overwrite), explicitNames.Select(x => (x.Option.Name, x.Value)).ToList());
            return Run(request, new RunOptions(r.GetValue(every), r.GetValue(plot), r.GetValue(verify), r.GetValue(data), r.GetValue(threads),
                r.GetValue(diagnostics), r.GetValue(diagnosticsEvery)));
        });
        return cmd;
    }
    /// <summary>The options that do not decide which run this is (they may change on --resume).</summary>
    private sealed record RunOptions(int CheckpointEvery, string? PlotPath, int VerifyEvery, string? DataPath, int Threads,
        string? DiagnosticsDir = null, int DiagnosticsEvery = 0);

    private static int Run(TrainRequest q, RunOptions o)
    {
        if (q.Resume && q.Overwrite) throw new UserInputException("--resume and --overwrite contradict each other: pick one.");
        if (o.PlotPath is not null && PngFile.Validate(o.PlotPath) == Path.GetFullPath(q.CheckpointPath)) // before the run, not after it
            throw new UserInputException($"--plot and --checkpoint are the same file ({o.PlotPath}): the plot would overwrite the checkpoint. Give them different paths.");
        if (o.DiagnosticsDir is not null) PrepareDiagnosticsFolder(o.DiagnosticsDir, q.Overwrite);
        var err = Console.Error;
        set_num_threads(OptionFactory.CapThreads(o.Threads, err));

        // One writer per checkpoint, from before it is read (a live run's file is never resumed) to the end.
        using var checkpointLock = CheckpointLock.Acquire(q.CheckpointPath);
        var plan = TrainingPlan.Decide(q);
        var (settings, resumed, extendTo) = (plan.Settings, plan.Resumed, plan.ExtendTo);
        if (o.VerifyEvery > 0 && settings.Backward != BackwardKind.Manual)
            throw new UserInputException("--verify-every checks the manual backward against autograd; it does not apply to --backward autograd.");

        var data = TrainingData.Load(o.DataPath, err, settings.BlockSize);
        MinimumNames.EnsureTrainingAndValidation("train", data.Split.Names, data.Path);
        if (resumed is not null) data.EnsureMatches(resumed, q.CheckpointPath);

        // Ctrl+C (SIGINT) and SIGTERM stop at the next step boundary, or the next chunk of calibration, evaluation,
        // plotting or sampling; the checkpoint is saved by then.
        using var signals = StopSignals.Listen();
        if (plan.Finished)
        {
            // A finished run: nothing to train; its result again, from the checkpoint.
            err.WriteLine($"{q.CheckpointPath} is a finished run ({resumed!.Settings.Describe()}); nothing to train. Its result:");
            using var scope = NewDisposeScope();
            try
            {
                return PrintResult(ITrainedModel.FromCheckpoint(resumed, q.CheckpointPath, () => data.Split.Train), data, q.CheckpointPath);
            }
            catch (RunStoppedException)
            {
                return Stopped(signals, resumed.Step, settings, q.CheckpointPath);
            }
        }

        MemoryBudget.Ensure(MemoryBudget.Train(settings, data.Split.Train.Count),
            $"train{OptionFactory.ModelFlag(settings.Model)} with --hidden {settings.NHidden} and --batch-size {settings.BatchSize}");

        using var run = resumed is null ? TrainingRun.Start(settings, data.Sha256) : TrainingRun.Resume(resumed, extendTo, q.CheckpointPath);
        err.WriteLine(resumed is null
            ? $"Training {settings.Describe()}; {run.Trainer.ParameterCount:N0} parameters; checkpoint {q.CheckpointPath}"
            : extendTo is { } n && n != resumed.Settings.Steps
                ? $"Resuming at step {run.Step:N0} and extending the run from {resumed.Settings.Steps:N0} to {n:N0} steps: {settings.Describe()}; checkpoint {q.CheckpointPath}"
                : $"Resuming at step {run.Step:N0}: {settings.Describe()}; checkpoint {q.CheckpointPath}");
        if (resumed is null) CheckpointFile.Write(q.CheckpointPath, run.ToCheckpoint()); // claims the path; the last good state if step 1 diverges

        TrainingResult result;
        int startStep = run.Step;
        var clock = Stopwatch.StartNew();
        var diagnostics = o.DiagnosticsDir is null ? null
            : new TrainingDiagnostics(o.DiagnosticsEvery > 0 ? o.DiagnosticsEvery : TrainingDiagnostics.DefaultEvery(settings.Steps - run.Step));
        var loop = new LoopOptions(q.CheckpointPath, o.CheckpointEvery, o.VerifyEvery, Diagnostics: diagnostics);
        Func<ITrainingReporter, TrainingResult> body = reporter =>
            TrainingLoop.Run(run, data.Split.Train, loop, reporter, _ => signals.Requested);
        bool terminal = !Console.IsOutputRedirected && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        result = terminal
            ? TerminalReporter.Run(AnsiConsole.Console, $"{settings.Backward.Name()} training", run.Step, settings.Steps, body)
            : body(new PlainReporter(Console.Out, err));
        clock.Stop();

        switch (result.End)
        {
            case TrainingEnd.Interrupted:
                PrintSpeed(run.Step - startStep, clock.Elapsed, settings);
                WritePlot(o.PlotPath, run, whileStopping: true);
                return Stopped(signals, result.Step, settings, q.CheckpointPath);
            case TrainingEnd.Diverged:
            case TrainingEnd.VerificationFailed:
                // No speed line: a run that blew up has no meaningful steps/s to report.
                err.WriteLine($"error: {result.Message}");
                return ExitCodes.Failed;
        }
        PrintSpeed(run.Step - startStep, clock.Elapsed, settings);

        try
        {
            // As the lecture: the MLP calibrates batchnorm over the training set (kept in the final checkpoint); the
            // WaveNet uses its running statistics. The loop saved the last step's checkpoint: a stop from here on keeps it.
            var after = new AfterTraining(clock.Elapsed);
            var (trained, final) = OnTerminal($"calibrating over {data.Split.Train.Count:N0} training examples", () => run.Finish(data.Split.Train));
            after.Lap("calibration");
            CheckpointFile.Write(q.CheckpointPath, final);
            after.Lap("checkpoint");
            err.WriteLine($"Final checkpoint (with batchnorm statistics): {q.CheckpointPath}");
            WritePlot(o.PlotPath, run);
            if (o.PlotPath is not null) after.Lap("plot");
            WriteDiagnostics(o.DiagnosticsDir, diagnostics, settings);
            return PrintResult(trained, data, q.CheckpointPath, after);
        }
        catch (RunStoppedException)
        {
            return Stopped(signals, run.Step, settings, q.CheckpointPath);
        }
    }

    /// <summary>Times the work after the last step (calibration, evaluation, sampling) and reports it beside the
    /// training time, so a slow tail shows.</summary>
    private sealed class AfterTraining(TimeSpan training)
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly List<(string Name, TimeSpan Time)> laps = [];
        private TimeSpan last;

        public void Lap(string name)
        {
            var now = clock.Elapsed;
            laps.Add((name, now - last));
            last = now;
        }

        public string Describe() => string.Create(CultureInfo.InvariantCulture,
            $"After the last step: {string.Join(", ", laps.Select(l => $"{l.Name} {l.Time.TotalSeconds:F2} s"))}; " +
            $"{last.TotalSeconds:F1} s in all, {100 * last / (training + last):F0}% of the run.");
    }

    /// <summary>The line that says where a signal stopped the run and how to continue it; the exit code 130 or 143.</summary>
    private static int Stopped(StopSignals signals, int step, TrainingSettings settings, string checkpointPath)
    {
        string where = checkpointPath == CheckpointLocation.Default(settings.Model)
            ? OptionFactory.ModelFlag(settings.Model)
            : $" --checkpoint {checkpointPath}";
        Console.Error.WriteLine($"{signals.How} at step {step:N0} of {settings.Steps:N0}; checkpoint saved to {checkpointPath}. " +
                                $"Continue with: {HowToRun.Command($"train --resume{where}")}");
        return signals.ExitCode;
    }

    /// <summary>Runs a long phase after training under a spinner that names it, on a terminal (a redirected run prints nothing extra).</summary>
    private static T OnTerminal<T>(string what, Func<T> phase)
    {
        bool terminal = !Console.IsOutputRedirected && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        return terminal ? AnsiConsole.Status().Start(Markup.Escape(what) + "…", _ => phase()) : phase();
    }

    private static void PrintSpeed(int done, TimeSpan elapsed, TrainingSettings settings)
    {
        if (done <= 0) return;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{done:N0} steps in {elapsed.TotalSeconds:F1} s ({elapsed.TotalMicroseconds / done:F0} µs/step, {settings.Backward.Name()} backward)"));
    }

    /// <summary>The lecture's result: train and val loss with the calibrated batchnorm, then 20 names; exit code 1
    /// when the net blew up although every training loss stayed finite (batchnorm can hide huge weights until calibration).</summary>
    private static int PrintResult(ITrainedModel trained, TrainingData data, string checkpointPath, AfterTraining? after = null)
    {
        double train = OnTerminal($"evaluating the training split ({data.Split.Train.Count:N0} examples)", () => trained.SplitLoss(data.Split.Train));
        double val = OnTerminal($"evaluating the validation split ({data.Split.Dev.Count:N0} examples)", () => trained.SplitLoss(data.Split.Dev));
        after?.Lap("evaluation");
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
        if (after is not null)
        {
            after.Lap("sampling");
            Console.Error.WriteLine(after.Describe());
        }
        return ExitCodes.Ok;
    }

    private static readonly string[] DiagnosticsFileNames = ["diagnostics.txt", "diagnostics.json", "diagnostics.csv", .. DiagnosticPlots.Files];

    /// <summary>Before the run: the folder exists or is made, and holds no earlier diagnostics unless --overwrite.</summary>
    private static void PrepareDiagnosticsFolder(string dir, bool overwrite)
    {
        if (dir.Length == 0) throw new UserInputException("--diagnostics is empty: give a folder.");
        if (File.Exists(dir)) throw new UserInputException($"--diagnostics {dir} is a file, not a folder.");
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserInputException($"cannot make the --diagnostics folder {dir}: {e.Message}");
        }
        var existing = DiagnosticsFileNames.Where(f => File.Exists(Path.Combine(dir, f))).ToList();
        if (existing.Count > 0 && !overwrite)
            throw new UserInputException($"--diagnostics {dir} already holds {string.Join(", ", existing)}; pass --overwrite to replace them or give another folder.");
    }

    /// <summary>Part 3's tables and plots of the sampled steps into <paramref name="dir"/>; its warnings on stderr.</summary>
    private static void WriteDiagnostics(string? dir, TrainingDiagnostics? d, TrainingSettings settings)
    {
        if (dir is null || d?.Last is null) return;
        StopSignals.ThrowIfStopping();
        var warnings = DiagnosticWarnings.For(d);
        File.WriteAllText(Path.Combine(dir, "diagnostics.txt"), DiagnosticsFiles.Text(d, warnings));
        File.WriteAllText(Path.Combine(dir, "diagnostics.json"), DiagnosticsFiles.Json(d, settings.Model.Name, warnings));
        File.WriteAllText(Path.Combine(dir, "diagnostics.csv"), DiagnosticsFiles.Csv(d));
        DiagnosticPlots.Write(dir, d, $"{settings.Model.Name}, {settings.Backward.Name()} backward");
        foreach (var w in warnings) Console.Error.WriteLine($"warning: {w}");
        Console.Error.WriteLine($"Diagnostics ({d.Samples.Count:N0} sampled steps, {warnings.Count} warnings): {Path.GetFullPath(dir)}");
        StopSignals.ThrowIfStopping();
    }

    /// <param name="whileStopping">The run is already stopping (the plot of an interrupted run is still written); otherwise a signal stops before the plot and after it.</param>
    private static void WritePlot(string? path, TrainingRun run, bool whileStopping = false)
    {
        if (path is null || run.Step == 0) return;
        if (!whileStopping) StopSignals.ThrowIfStopping();
        LossPlot.Write(path, run.Losses(), run.Settings);
        Console.Error.WriteLine($"Loss plot: {Path.GetFullPath(path)}");
        if (!whileStopping) StopSignals.ThrowIfStopping();
    }
}
