using System.Globalization;
using ManualVsAuto.Model;

namespace ManualVsAuto.Training;

/// <summary>What a training run depends on; saved in every checkpoint so <c>--resume</c> continues the same run.</summary>
public sealed record TrainingSettings(
    int Steps = 200_000,
    int NHidden = 200,
    int BatchSize = 32,
    double Lr = 0.1,
    int DecayStep = 100_000,
    ulong Seed = MlpConfig.LectureSeed,
    BackwardKind Backward = BackwardKind.Manual,
    ModelKind? Model = null)
{
    /// <summary>The net trained: the lecture's MLP (<see cref="ModelKinds.Default"/>) unless given.</summary>
    public ModelKind Model { get; init; } = Model ?? ModelKinds.Default;

    /// <summary>The lecture's settings for <paramref name="model"/>: its steps, n_hidden, decay step and seed.</summary>
    public static TrainingSettings LectureDefaults(ModelKind model) =>
        new(Steps: model.LectureSteps, NHidden: model.LectureNHidden, DecayStep: model.LectureDecayStep, Seed: model.LectureSeed, Model: model);

    /// <summary>The most steps a run may have: its loss history (4 bytes a step) is kept in memory and in every
    /// checkpoint, which must stay below 2 GB.</summary>
    public const int MaxSteps = 100_000_000;

    /// <summary>What is out of its legal range (as the command line's options have them), or null when all is well:
    /// a checkpoint's settings are checked with it before a run is built from them.</summary>
    public string? Problem() =>
        Steps is < 1 or > MaxSteps ? $"steps {Steps} is not from 1 to {MaxSteps}"
        : NHidden < 1 ? $"hidden {NHidden} is below 1"
        : BatchSize < 2 ? $"batch size {BatchSize} is below 2"
        : !(Lr > 0 && double.IsFinite(Lr)) ? string.Create(CultureInfo.InvariantCulture, $"lr {Lr} is not a positive number")
        : DecayStep < 0 ? $"decay step {DecayStep} is negative"
        : !Enum.IsDefined(Backward) ? "unknown backward"
        : null;

    /// <summary>The MLP's hyperparameters (for <see cref="ModelKinds.Mlp"/>).</summary>
    public MlpConfig Config => new(NHidden: NHidden);

    /// <summary>The context length the model reads (<see cref="ModelKind.BlockSize"/>).</summary>
    public int BlockSize => Model.BlockSize;

    /// <summary>The lecture's schedule: <c>lr = 0.1 if i &lt; 100000 else 0.01</c>.</summary>
    public double LearningRateAt(int step) => step < DecayStep ? Lr : Lr / 10;

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{(Model.IsDefault ? "" : $"{Model.Name}, block size {BlockSize}, ")}{Steps:N0} steps, n_hidden {NHidden}, batch {BatchSize}, {Schedule()}, seed {Seed}, {Backward.Name()} backward");

    /// <summary>Only the part of the schedule this run reaches.</summary>
    public string Schedule() =>
        DecayStep >= Steps ? string.Create(CultureInfo.InvariantCulture, $"lr {Lr}")
        : DecayStep <= 0 ? string.Create(CultureInfo.InvariantCulture, $"lr {Lr / 10}")
        : string.Create(CultureInfo.InvariantCulture, $"lr {Lr} then {Lr / 10} from step {DecayStep:N0}");
}
