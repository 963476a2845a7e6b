using System.Runtime.InteropServices;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>
/// A run in memory: settings, the trainer (holding the parameters), the generator that draws the minibatches,
/// the step reached, and the loss history as a preallocated float32 tensor (one write into its memory per step),
/// copied out only for checkpoints and the plot.
/// </summary>
public sealed class TrainingRun : IDisposable
{
    private TrainingRun(TrainingSettings settings, string dataSha256, IModelTrainer trainer, Generator generator, int step, float[] history)
    {
        Settings = settings;
        DataSha256 = dataSha256;
        Trainer = trainer;
        Generator = generator;
        Step = step;
        LossBuffer = zeros([Math.Max(settings.Steps, 1)], ScalarType.Float32).DetachFromDisposeScope();
        if (history.Length > 0) LossBuffer.narrow(0, 0, history.Length).copy_(tensor(history));
    }

    public TrainingSettings Settings { get; }
    public string DataSha256 { get; }
    public IModelTrainer Trainer { get; }
    public Generator Generator { get; }

    /// <summary>The MLP's parameters (an MLP run only).</summary>
    public MlpParameters Parameters => Trainer switch
    {
        LoopStepTrainer fused => fused.Parameters,
        LayerTrainer { Model: Mlp mlp } => mlp.Values,
        _ => throw new InvalidOperationException($"a {Settings.Model.Name} run has no MLP parameters"),
    };
    public Tensor LossBuffer { get; }

    /// <summary>Steps done; the next step to run.</summary>
    public int Step { get; internal set; }

    /// <summary>A new run: the net's lecture init (<see cref="ModelKind.Create"/>) from a generator seeded with the
    /// settings' seed, which then draws the minibatches.</summary>
    /// <param name="makeTrainer">Builds the trainer from the initial net; by default the model's for <c>s.Backward</c>
    /// (<see cref="ModelTraining.CreateTrainer"/>).</param>
    public static TrainingRun Start(TrainingSettings s, string dataSha256, Func<Sequential, IModelTrainer>? makeTrainer = null)
    {
        var g = new Generator(s.Seed);
        var net = s.Model.Create(g, s.NHidden);
        return new TrainingRun(s, dataSha256, (makeTrainer ?? (m => ModelTrainings.For(s.Model).CreateTrainer(s.Backward, m)))(net), g, 0, []);
    }

    /// <summary>Continues from a checkpoint: its parameters, its generator state, its loss history.</summary>
    /// <param name="steps">A new total (at least the checkpoint's step), e.g. to extend a finished run; the schedule is a
    /// function of the step, so the result is the same as a run started with this many steps.</param>
    public static TrainingRun Resume(Checkpoint c, int? steps = null, string path = "the checkpoint")
    {
        c.EnsureResumable();
        if (steps < c.Step) throw new ArgumentOutOfRangeException(nameof(steps), $"the checkpoint is already at step {c.Step}");
        var settings = c.Settings with { Steps = steps ?? c.Settings.Steps };
        var g = new Generator(settings.Seed);
        c.RestoreGenerator(g);
        var trainer = ModelTrainings.For(settings.Model).CreateTrainer(settings.Backward, Restore(c, path));
        return new TrainingRun(settings, c.DataSha256, trainer, g, c.Step, c.Losses);
    }

    /// <summary>The net saved in <paramref name="c"/>: built (from a throwaway generator), then overwritten with the saved state.</summary>
    public static Sequential Restore(Checkpoint c, string path)
    {
        var model = c.Settings.Model.Create(new Generator(0), c.Settings.NHidden);
        try
        {
            c.RestoreInto(model.State, path);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>
    /// After the last step, as the lecture: the MLP calibrates batchnorm over the training set (kept in the final
    /// checkpoint); the WaveNet switches to its running statistics (<see cref="ModelTraining.Calibration"/>). Both then
    /// run their layers in eval mode. Returns the net ready for inference and the final checkpoint.
    /// </summary>
    public (ITrainedModel Model, Checkpoint Final) Finish(Examples train)
    {
        var training = ModelTrainings.For(Settings.Model);
        var net = training.Net(Trainer);
        var bn = training.Calibration?.Calibrate(net, train);
        return (new LayerInference(net, Settings.BlockSize), ToCheckpoint(bn));
    }

    /// <summary>Stores a step's loss in the history by writing into the buffer's memory (no TorchSharp call per step).</summary>
    public void RecordLoss(int step, Tensor loss) => MemoryMarshal.Cast<byte, float>(LossBuffer.bytes)[step] = loss.item<float>();

    /// <summary>The losses of the steps done so far.</summary>
    public float[] Losses()
    {
        if (Step == 0) return [];
        using var slice = LossBuffer.narrow(0, 0, Step);
        return slice.data<float>().ToArray();
    }

    public Checkpoint ToCheckpoint(BatchNormStats? batchNorm = null) =>
        Checkpoint.Capture(Settings, Step, DataSha256, Trainer.State, Generator, Losses(), batchNorm);

    public void Dispose()
    {
        Trainer.Dispose();
        LossBuffer.Dispose();
    }
}
