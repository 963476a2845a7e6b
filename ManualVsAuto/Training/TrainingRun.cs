using System.Runtime.InteropServices;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>
/// A run in memory: settings, the trainer (holding the parameters), the generator that draws the minibatches,
/// the step reached, and the loss history as a preallocated float32 tensor (one write into its memory per step),
/// copied out only for checkpoints and the plot.
/// </summary>
public sealed class TrainingRun : IDisposable
{
    private TrainingRun(TrainingSettings settings, string dataSha256, ITrainer trainer, Generator generator, int step, float[] history)
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
    public ITrainer Trainer { get; }
    public Generator Generator { get; }
    public MlpParameters Parameters => Trainer.Parameters;
    public Tensor LossBuffer { get; }

    /// <summary>Steps done; the next step to run.</summary>
    public int Step { get; internal set; }

    /// <summary>A new run: the lecture's init from a generator seeded with the settings' seed, which then draws the minibatches.</summary>
    /// <param name="makeTrainer">Builds the trainer from the initial parameters; by default the one for <c>s.Backward</c>.</param>
    public static TrainingRun Start(TrainingSettings s, string dataSha256, Func<MlpParameters, ITrainer>? makeTrainer = null)
    {
        var g = new Generator(s.Seed);
        var p = MlpParameters.Init(s.Config, g);
        foreach (var t in p.All) t.DetachFromDisposeScope();
        return new TrainingRun(s, dataSha256, (makeTrainer ?? (q => CreateTrainer(s.Backward, q)))(p), g, 0, []);
    }

    /// <summary>Continues from a checkpoint: its parameters, its generator state, its loss history.</summary>
    public static TrainingRun Resume(Checkpoint c)
    {
        c.EnsureResumable();
        var g = new Generator(c.Settings.Seed);
        c.RestoreGenerator(g);
        var p = c.ToParameters();
        foreach (var t in p.All) t.DetachFromDisposeScope();
        return new TrainingRun(c.Settings, c.DataSha256, CreateTrainer(c.Settings.Backward, p), g, c.Step, c.Losses);
    }

    public static ITrainer CreateTrainer(BackwardKind kind, MlpParameters p) => kind switch
    {
        BackwardKind.Manual => new ManualTrainer(p),
        BackwardKind.Autograd => new AutogradTrainer(p),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Stores a step's loss in the history by writing into the buffer's memory (select + copy_ cost ≈ 5 µs a step).</summary>
    public void RecordLoss(int step, Tensor loss) => MemoryMarshal.Cast<byte, float>(LossBuffer.bytes)[step] = loss.item<float>();

    /// <summary>The losses of the steps done so far.</summary>
    public float[] Losses()
    {
        if (Step == 0) return [];
        using var slice = LossBuffer.narrow(0, 0, Step);
        return slice.data<float>().ToArray();
    }

    public Checkpoint ToCheckpoint(BatchNormStats? batchNorm = null) =>
        Checkpoint.Capture(Settings, Step, DataSha256, Parameters, Generator, Losses(), batchNorm);

    public void Dispose()
    {
        Trainer.Dispose();
        LossBuffer.Dispose();
    }
}
