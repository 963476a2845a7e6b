using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Training;

/// <summary>A trained net ready for inference: the split losses and the names printed at the end of <c>train</c> and by <c>sample</c>.</summary>
public interface ITrainedModel
{
    /// <summary>The lecture's <c>split_loss</c>: cross-entropy over a whole split, batchnorm in inference mode.</summary>
    double SplitLoss(Examples split);

    IEnumerable<string> Sample(int count, ulong seed);

    /// <summary>The net a checkpoint holds. The MLP needs batchnorm statistics: a mid-run checkpoint has none, and they
    /// are calibrated over <paramref name="trainingSet"/> (called only then: it loads the data); the WaveNet carries its
    /// running statistics.</summary>
    static ITrainedModel FromCheckpoint(Checkpoint c, string path, Func<Examples> trainingSet)
    {
        var net = TrainingRun.Restore(c, path);
        if (ModelTrainings.For(c.Settings.Model).Calibration is { } calibration)
        {
            if (c.BatchNorm is { } bn) calibration.Load(net, bn);
            else calibration.Calibrate(net, trainingSet());
        }
        return new LayerInference(net, c.Settings.BlockSize);
    }
}

/// <summary>A model made of layers in <see cref="ForwardMode.Eval"/>: batchnorm uses its running statistics (part 5's
/// momentum-averaged ones, or the MLP's calibrated ones).</summary>
public sealed record LayerInference(Sequential Model, int BlockSize) : ITrainedModel
{
    /// <summary>
    /// Rows per forward: a training minibatch's worth, so every tensor is the size a training step's is and memory
    /// stays as flat as in training (bigger chunks raise glibc's mmap threshold and the heap keeps them: the CLI
    /// manual's speed section has the measurements).
    /// </summary>
    public const int Chunk = 32;

    /// <summary>Chunks between two <see cref="ProcessMemory.TrimNativeHeap"/>s (in <see cref="Inference.Chunks"/>): without
    /// them glibc's heap keeps growing with free space over one evaluation.</summary>
    public const int TrimEvery = 64;

    public double SplitLoss(Examples split)
    {
        using var _ = no_grad();
        double sum = 0;
        foreach (var (X, Y) in Inference.Chunks(split))
            sum += F.cross_entropy(Model.Forward(X, ForwardMode.Eval), Y, reduction: nn.Reduction.Sum).to_type(ScalarType.Float64).item<double>();
        return sum / split.Count;
    }

    public IEnumerable<string> Sample(int count, ulong seed) =>
        Inference.Sample(x => Model.Forward(x, ForwardMode.Eval), count, seed, BlockSize);
}
