using System.Globalization;

namespace ManualVsAuto.Training;

/// <summary>What <c>train</c> was asked for.</summary>
/// <param name="Settings">The settings from the command line (the model's defaults where none was given).</param>
/// <param name="ExplicitSettings">The settings given on the command line, by option name, with how to read them from settings.</param>
public sealed record TrainRequest(TrainingSettings Settings, string CheckpointPath, bool Resume, bool Overwrite,
    IReadOnlyList<(string Name, Func<TrainingSettings, object> Value)> ExplicitSettings);

/// <summary>
/// The resume and overwrite policy: a new run never replaces an existing checkpoint without <c>--overwrite</c> nor
/// anything that is not a checkpoint; <c>--resume</c> continues the checkpoint's run with its own settings, only
/// <c>--steps</c> may extend it. Decided before any data is loaded or any step runs; a refusal is a
/// <see cref="CheckpointException"/> whose message says what to do.
/// </summary>
/// <param name="Resumed">The checkpoint to continue, or null for a new run.</param>
/// <param name="ExtendTo">A new step total for the resumed run, or null to keep its own.</param>
public sealed record TrainingPlan(TrainingSettings Settings, Checkpoint? Resumed, int? ExtendTo)
{
    /// <summary>A resumed run that has nothing left to do: its result is printed again from the checkpoint.</summary>
    public bool Finished => Resumed is { } c && c.Step == Settings.Steps && !c.NeedsCalibration;

    public static TrainingPlan Decide(TrainRequest q)
    {
        if (q.Resume && q.Overwrite) throw new CheckpointException("--resume and --overwrite contradict each other: pick one.");
        var kind = CheckpointFile.KindOf(q.CheckpointPath);
        if (q.Resume)
        {
            if (kind == CheckpointFile.FileKind.Missing)
                throw new CheckpointException($"{q.CheckpointPath}: no checkpoint there to resume (file not found).");
            var resumed = CheckpointFile.Read(q.CheckpointPath);
            int? extendTo = NewStepCount(q, resumed);
            var conflicts = q.ExplicitSettings
                .Where(x => x.Name != "--steps" && !Equals(x.Value(q.Settings), x.Value(resumed.Settings)))
                .Select(x => $"{x.Name} {Show(x.Value(q.Settings))} (the checkpoint has {Show(x.Value(resumed.Settings))})")
                .ToList();
            if (conflicts.Count > 0)
                throw new CheckpointException($"--resume continues the run in {q.CheckpointPath} with its own settings (only --steps may change); these flags disagree: {string.Join(", ", conflicts)}. Drop them, or start over with --overwrite.");
            return new TrainingPlan(resumed.Settings with { Steps = extendTo ?? resumed.Settings.Steps }, resumed, extendTo);
        }
        if (kind == CheckpointFile.FileKind.Foreign)
            throw new CheckpointException($"{q.CheckpointPath} exists and is not a ManualVsAuto checkpoint; not overwriting it. Choose another --checkpoint path.");
        if (kind == CheckpointFile.FileKind.Ours && !q.Overwrite)
        {
            var (existing, unreadable) = DescribeExisting(q.CheckpointPath);
            throw new CheckpointException(unreadable is null
                ? $"{q.CheckpointPath} already exists ({existing}); pass --resume to continue it or --overwrite to start a new run over it."
                : $"{unreadable}; it cannot be resumed: pass --overwrite to start a new run over it, or choose another --checkpoint path.");
        }
        return new TrainingPlan(q.Settings, null, null);
    }

    /// <summary>The --steps of a resumed run: the checkpoint's, or a new total that is not below the step it reached.</summary>
    private static int? NewStepCount(TrainRequest q, Checkpoint c)
    {
        if (!q.ExplicitSettings.Any(x => x.Name == "--steps") || q.Settings.Steps == c.Settings.Steps) return null;
        if (q.Settings.Steps < c.Step)
            throw new CheckpointException($"--steps {q.Settings.Steps:N0} is below step {c.Step:N0}, which the run in {q.CheckpointPath} has already reached; give at least {c.Step:N0}.");
        return q.Settings.Steps;
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
