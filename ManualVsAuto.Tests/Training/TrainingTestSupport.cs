using ManualVsAuto.Model;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

public sealed class RecordingReporter : ITrainingReporter
{
    public List<(int Step, float Loss)> Losses { get; } = [];
    public List<string> Notes { get; } = [];

    public void Loss(int step, int steps, float loss) => Losses.Add((step, loss));

    public void Progress(int done) { }

    public void Note(string message) => Notes.Add(message);
}

public static class TrainingRunFactory
{
    /// <summary>A names file's sha256 for runs that need no real one (a checkpoint requires 64 hex digits).</summary>
    public const string DataSha = "5f3ac1c0de5f3ac1c0de5f3ac1c0de5f3ac1c0de5f3ac1c0de5f3ac1c0de5f3a";

    /// <summary>A fresh run whose trainer is built by <paramref name="make"/> (e.g. with a broken backward).</summary>
    public static TrainingRun WithTrainer(TrainingSettings s, Func<MlpParameters, IModelTrainer> make) =>
        TrainingRun.Start(s, DataSha, net => make(((Mlp)net).Values));
}

public static class TrainingAssert
{
    public static void BitwiseEqual(MlpParameters expected, MlpParameters actual)
    {
        foreach (var ((name, e), (_, a)) in expected.Named.Zip(actual.Named))
        {
            using var _ = NewDisposeScope();
            Assert.True(e.detach().eq(a.detach()).all().item<bool>(), $"{name} differs: max |Δ| = {(e - a).abs().max().item<float>():e2}");
        }
    }
}
