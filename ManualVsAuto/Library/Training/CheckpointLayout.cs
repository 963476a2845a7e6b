using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>
/// What a checkpoint of given settings must hold, from the model's own description (its state's names and shapes),
/// so a file is checked against it before any tensor is built: a crafted or damaged shape never reaches libtorch.
/// The shapes are the model's own fact (<see cref="ModelKind.StateShapes"/>), the calibration its training's
/// (<see cref="ModelTraining.Calibration"/>).
/// </summary>
public static class CheckpointLayout
{
    /// <summary>The model's saved state (parameters and running statistics) in the order the trainer's <c>State</c> lists it.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> State(TrainingSettings s) => s.Model.StateShapes(s.NHidden);

    /// <summary>The shape of the calibrated batchnorm statistics a final checkpoint adds (each of bnmean, bnvar), or
    /// null for a model that keeps running statistics in its state instead.</summary>
    public static long[]? CalibrationShape(TrainingSettings s) => ModelTrainings.For(s.Model).Calibration?.StatisticsShape(s.NHidden);

    /// <summary>The size in bytes of libtorch's CPU generator state (<c>get_state</c>), which <c>set_state</c> requires.</summary>
    public static long GeneratorStateSize => generatorStateSize.Value;

    private static readonly Lazy<long> generatorStateSize = new(() =>
    {
        using var g = new Generator(0);
        using var state = g.get_state();
        return state.numel();
    });
}
