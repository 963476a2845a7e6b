using System.Globalization;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>How a call to <see cref="TrainingLoop.Run"/> ended.</summary>
public enum TrainingEnd
{
    /// <summary>All steps done.</summary>
    Completed,

    /// <summary>Stopped at a step boundary on request (Ctrl+C); a checkpoint was saved.</summary>
    Interrupted,

    /// <summary>The loss became NaN or infinite; nothing was saved after the last good checkpoint.</summary>
    Diverged,

    /// <summary><c>--verify-every</c> found a manual gradient that disagrees with autograd; nothing was saved.</summary>
    VerificationFailed,
}

/// <param name="Message">Why training stopped; for a failed verification, a line and then one line per failing parameter.</param>
public sealed record TrainingResult(TrainingEnd End, int Step, string? Message = null);

/// <summary>Loop options that are not part of the run's identity (they may change on <c>--resume</c>).</summary>
/// <param name="CheckpointPath">Where checkpoints go; null writes none (tests).</param>
/// <param name="CheckpointEvery">Save after every this many steps and after the last one (the caller adds the batchnorm statistics).</param>
/// <param name="VerifyEvery">0: off; K: check the manual gradients against autograd every K steps.</param>
/// <param name="PrintEvery">The lecture prints the loss every 10,000 steps.</param>
/// <param name="Diagnostics">When given, part 3's statistics of the sampled steps are recorded into it (an <see cref="IObservableTrainer"/> only).</param>
public sealed record LoopOptions(string? CheckpointPath, int CheckpointEvery = 10_000, int VerifyEvery = 0, int PrintEvery = 10_000,
    TrainingDiagnostics? Diagnostics = null);

/// <summary>
/// The lecture's training loop: minibatch, step, record the loss, print every 10,000 steps; plus checkpoints,
/// the divergence check, Ctrl+C and the optional gradient verification. Each step runs in its own dispose scope,
/// so memory stays flat; the minibatches are drawn ahead (<see cref="PredrawnBatches"/>) with the same generator stream.
/// </summary>
public static class TrainingLoop
{
    /// <summary>How often the loss history is checked for NaN/inf: cheap (one reduction), and always before a save.</summary>
    public const int FiniteCheckEvery = 100;

    /// <summary>How often the reporter's progress is updated.</summary>
    public const int ProgressEvery = 250;

    /// <summary>Memory is reported once warm (after this many steps) and at the end: the two should match.</summary>
    public const int MemoryReportAfter = 1_000;

    /// <param name="stopRequested">Polled at every step boundary (a flag read); true stops, saves and returns <see cref="TrainingEnd.Interrupted"/>.</param>
    public static TrainingResult Run(TrainingRun run, Examples train, LoopOptions o, ITrainingReporter reporter, Func<int, bool> stopRequested)
    {
        using var batches = new PredrawnBatches(train, run.Settings.BatchSize, run.Generator);
        try
        {
            return Steps(run, o, reporter, stopRequested, batches);
        }
        finally
        {
            batches.Sync(run.Step); // the generator as after run.Step minibatches, whichever way the loop ended
        }
    }

    private static TrainingResult Steps(TrainingRun run, LoopOptions o, ITrainingReporter reporter, Func<int, bool> stopRequested,
        PredrawnBatches batches)
    {
        var s = run.Settings;
        var trainer = run.Trainer;
        int checkedUpTo = run.Step; // losses before this step are known finite
        bool verify = o.VerifyEvery > 0 && trainer.Kind == BackwardKind.Manual;
        int firstStep = run.Step;
        for (int i = run.Step; i < s.Steps; i++)
        {
            if (stopRequested(i))
            {
                var bad = FirstNonFinite(run, checkedUpTo, i);
                if (bad is not null) return Diverged(run, bad.Value, o);
                batches.Sync(i);
                Save(run, o, reporter);
                return new TrainingResult(TrainingEnd.Interrupted, i);
            }

            using (NewDisposeScope())
            {
                var (Xb, Yb) = batches.Next(i, s.Steps);
                if (verify && i % o.VerifyEvery == 0)
                {
                    var rows = trainer.Verify(Xb, Yb);
                    if (rows.Any(r => !r.Passed))
                        return new TrainingResult(TrainingEnd.VerificationFailed, i, GradientVerifier.Failed(i, rows, trainer.Verify(Xb, Yb)));
                    reporter.Note(GradientVerifier.Passed(i, rows));
                }

                Tensor loss;
                if (o.Diagnostics is { } d && d.Wants(i, s.Steps) && trainer is IObservableTrainer observed)
                {
                    loss = observed.Step(Xb, Yb, s.LearningRateAt(i), out var activity);
                    d.Record(i, activity);
                }
                else
                {
                    loss = trainer.Step(Xb, Yb, s.LearningRateAt(i));
                }
                run.RecordLoss(i, loss);
                if (i % o.PrintEvery == 0) reporter.Loss(i, s.Steps, loss.item<float>());
            }
            run.Step = i + 1;

            // Also at the last step: calibration and sampling come next, and an interruption there must not cost the run.
            bool save = o.CheckpointPath is not null && (run.Step % o.CheckpointEvery == 0 || run.Step == s.Steps);
            if (run.Step % FiniteCheckEvery == 0 || run.Step == s.Steps || save)
            {
                var bad = FirstNonFinite(run, checkedUpTo, run.Step);
                if (bad is not null) return Diverged(run, bad.Value, o);
                checkedUpTo = run.Step;
            }
            if (save)
            {
                batches.Sync(run.Step);
                Save(run, o, reporter);
            }
            if (run.Step % ProgressEvery == 0) reporter.Progress(run.Step);
            if (run.Step == firstStep + MemoryReportAfter) reporter.Note(ProcessMemory.Describe(run.Step));
        }
        reporter.Progress(run.Step);
        if (run.Step > firstStep + MemoryReportAfter) reporter.Note(ProcessMemory.Describe(run.Step));
        return new TrainingResult(TrainingEnd.Completed, run.Step);
    }

    private static void Save(TrainingRun run, LoopOptions o, ITrainingReporter reporter)
    {
        if (o.CheckpointPath is null) return;
        CheckpointFile.Write(o.CheckpointPath, run.ToCheckpoint());
    }

    /// <summary>The first step in [from, to) whose loss is NaN or infinite, or null.</summary>
    private static int? FirstNonFinite(TrainingRun run, int from, int to)
    {
        if (to <= from) return null;
        using var scope = NewDisposeScope();
        var finite = run.LossBuffer.narrow(0, from, to - from).isfinite();
        if (finite.all().item<bool>()) return null;
        return from + (int)finite.logical_not().nonzero()[0, 0].item<long>();
    }

    private static TrainingResult Diverged(TrainingRun run, int step, LoopOptions o)
    {
        float loss = run.LossBuffer[step].item<float>();
        string kept = o.CheckpointPath is null ? "" : File.Exists(o.CheckpointPath)
            ? $" The last good checkpoint is kept: {o.CheckpointPath}."
            : " No checkpoint was written.";
        return new TrainingResult(TrainingEnd.Diverged, step, string.Create(CultureInfo.InvariantCulture,
            $"the loss became {loss} at step {step} (lr {run.Settings.LearningRateAt(step)}); training stopped.{kept} Try a smaller --lr."));
    }
}
