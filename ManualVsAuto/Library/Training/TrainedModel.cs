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

    /// <summary>The net a checkpoint holds. The MLP needs batchnorm statistics: a mid-run checkpoint has none, and
    /// <paramref name="calibrate"/> computes them into the net (it loads the training set); the WaveNet carries its running statistics.</summary>
    static ITrainedModel FromCheckpoint(Checkpoint c, string path, Action<Mlp> calibrate)
    {
        if (c.Settings.Model == ModelKind.WaveNet) return new LayerInference(TrainingRun.RestoreWaveNet(c, path), c.Settings.BlockSize);
        var net = new Mlp(c.ToParameters());
        if (c.BatchNorm is { } bn) Inference.LoadStatistics(net, bn);
        else calibrate(net);
        return new LayerInference(net, c.Settings.BlockSize);
    }
}

/// <summary>A model made of layers in <see cref="ForwardMode.Eval"/>: batchnorm uses its running statistics (part 5's
/// momentum-averaged ones, or the MLP's calibrated ones).</summary>
public sealed record LayerInference(Sequential Model, int BlockSize) : ITrainedModel
{
    /// <summary>Rows per forward (split losses, calibration): the WaveNet's intermediates for the whole training set at once would take ~2 GB.</summary>
    public const int Chunk = 4096;

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
