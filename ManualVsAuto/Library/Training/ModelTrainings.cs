using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;

namespace ManualVsAuto.Training;

/// <summary>What training, checkpoints and inference need of a net, registered per <see cref="ModelKind"/> (see
/// Model/ModelKind.cs). The defaults fit any net made of layers: the layers' manual backward or autograd, revision 1,
/// batchnorm's running statistics at inference.</summary>
public sealed record ModelTraining
{
    /// <summary>
    /// Which version of a backward's arithmetic made a checkpoint (<see cref="BackwardKinds.Revision"/>). Bitwise
    /// resumption holds only within one revision, so <c>--resume</c> refuses a checkpoint of another; bump it when a
    /// backward rounds differently (the CHANGELOG keeps the history).
    /// </summary>
    public Func<BackwardKind, int> Revision { get; init; } = _ => 1;

    /// <summary>The trainer for a backward over a freshly built (or restored) net, which it owns from then on.</summary>
    public Func<BackwardKind, Sequential, IModelTrainer> CreateTrainer { get; init; } = LayerTrainer.Create;

    /// <summary>The net a trainer trains, for inference after the last step.</summary>
    public Func<IModelTrainer, Sequential> Net { get; init; } = trainer => ((LayerTrainer)trainer).Model;

    /// <summary>The lecture's batchnorm calibration over the training set after training (the MLP's, saved in the final
    /// checkpoint); null when the net uses batchnorm's running statistics (part 5).</summary>
    public BatchNormCalibration? Calibration { get; init; }
}

/// <param name="Calibrate">Computes the statistics into the net and returns them for the checkpoint.</param>
/// <param name="Load">Puts a checkpoint's statistics into the net.</param>
/// <param name="StatisticsShape">The shape of each of the statistics (bnmean, bnvar) at an n_hidden, as a final checkpoint holds them.</param>
public sealed record BatchNormCalibration(Func<Sequential, Examples, BatchNormStats> Calibrate, Action<Sequential, BatchNormStats> Load,
    Func<int, long[]> StatisticsShape);

public static class ModelTrainings
{
    /// <summary>The MLP: the fused manual step (<see cref="LoopStepTrainer"/>) and the lecture's calibration; manual
    /// revision 3 (its own vectorised tanh; 2 was .NET's tanh) and autograd 2. The WaveNet: manual revision 3, autograd 1.</summary>
    public static readonly ModelTable<ModelTraining> Table = new ModelTable<ModelTraining>(_ => new ModelTraining())
        .With(ModelKinds.Mlp, new ModelTraining
        {
            Revision = kind => kind == BackwardKind.Manual ? 3 : 2,
            CreateTrainer = (kind, net) => kind == BackwardKind.Manual ? new LoopStepTrainer(((Mlp)net).Values) : new AutogradLayerTrainer(net),
            // The loop-step trainer keeps the bare tensors; the layers wrap the same ones.
            Net = trainer => trainer is LayerTrainer { Model: Mlp mlp } ? mlp : new Mlp(((LoopStepTrainer)trainer).Parameters),
            Calibration = new BatchNormCalibration((net, train) => Inference.Calibrate((Mlp)net, train), (net, stats) => Inference.LoadStatistics((Mlp)net, stats), hidden => [1, hidden]),
        })
        .With(ModelKinds.WaveNet, new ModelTraining { Revision = kind => kind == BackwardKind.Manual ? 3 : 1 });

    public static ModelTraining For(ModelKind kind) => Table[kind];
}
