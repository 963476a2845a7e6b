using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Model;

/// <summary>The intermediates of Exercise 4's forward that its backward needs, by the lecture's names.</summary>
public sealed record TrainingForwardState(Tensor embcat, Tensor bnvar_inv, Tensor bnraw, Tensor h, Tensor logits, Tensor loss);

/// <summary>
/// Exercise 4's MLP made of the part-5 layers: <c>Embedding(C) → FlattenConsecutive(block_size) → Linear(W1, b1) →
/// BatchNorm1d(bngain, bnbias) → Tanh → Linear(W2, b2)</c>. The layers wrap the very tensors of the
/// <see cref="MlpParameters"/> it is built from (no copies, so <see cref="MlpParameters.Init"/> stays the one place
/// that draws them) and own them from then on. A checkpoint names its state as the lecture does (C, W1, …).
/// </summary>
public sealed class Mlp(MlpParameters p) : Sequential(Build(p))
{
    /// <summary>Its registry entry (<see cref="ModelKinds.Mlp"/>, the default): the lecture's seed; check's exercise
    /// uses n_hidden 64, train the lecture's 200.</summary>
    public static readonly ModelKind Entry = new()
    {
        Name = "mlp",
        Description = "the lecture's MLP (makemore part 4)",
        BlockSize = Data.Dataset.LectureBlockSize,
        LectureSeed = MlpConfig.LectureSeed,
        LectureNHidden = 200,
        CheckNHidden = new MlpConfig().NHidden,
        Create = (g, nHidden) => new Mlp(MlpParameters.Init(new MlpConfig(NHidden: nHidden), g)),
        ParameterCount = h => ParameterCount(h),
        StateShapes = h => MlpParameters.Shapes(new MlpConfig(NHidden: h)),
        ActivationsPerExample = h => new MlpConfig().BlockSize * new MlpConfig().NEmbd + 3.0 * h + Data.Vocabulary.Size,
    };

    /// <summary>C, W1, b1, W2, b2, bngain, bnbias at an n_hidden (a double, for huge ones).</summary>
    public static double ParameterCount(long nHidden, int nEmbd = 10, int blockSize = 3, int vocabSize = 27) =>
        (double)vocabSize * nEmbd + (double)nEmbd * blockSize * nHidden + nHidden + nHidden * (double)vocabSize + vocabSize + 2.0 * nHidden;

    /// <summary>The batchnorm layer's position: calibration runs the layers before it.</summary>
    public const int BatchNormLayer = 3;

    private static Layer[] Build(MlpParameters p) =>
    [
        new Embedding(p.C),
        new FlattenConsecutive((int)(p.W1.size(0) / p.C.size(1))),
        new Linear(p.W1, p.b1),
        new BatchNorm1d(p.bngain, p.bnbias, StepByStepForward.BnEps),
        new Tanh(),
        new Linear(p.W2, p.b2),
    ];

    public int BlockSize => ((FlattenConsecutive)Layers[1]).N;

    public BatchNorm1d BatchNorm => (BatchNorm1d)Layers[BatchNormLayer];

    /// <summary>The layers' current parameter tensors by the lecture's names (after autograd's trainer wraps them
    /// as <c>Parameter</c>s, those: they share the original storage and carry <c>.grad</c>).</summary>
    public MlpParameters Values
    {
        get
        {
            var (embedding, linear1, linear2) = ((Embedding)Layers[0], (Linear)Layers[2], (Linear)Layers[5]);
            return new MlpParameters(embedding.Weight.Value, linear1.Weight.Value, linear1.Bias!.Value,
                linear2.Weight.Value, linear2.Bias!.Value, BatchNorm.Gamma.Value, BatchNorm.Beta.Value);
        }
    }

    /// <summary>The layers' parameters by the lecture's names, in its order (C, W1, b1, W2, b2, bngain, bnbias).</summary>
    public IReadOnlyList<(string Name, LayerParameter Parameter)> LectureParameters
    {
        get
        {
            var (embedding, linear1, linear2) = ((Embedding)Layers[0], (Linear)Layers[2], (Linear)Layers[5]);
            return [("C", embedding.Weight), ("W1", linear1.Weight), ("b1", linear1.Bias!), ("W2", linear2.Weight), ("b2", linear2.Bias!),
                ("bngain", BatchNorm.Gamma), ("bnbias", BatchNorm.Beta)];
        }
    }

    /// <summary>The parameters by the lecture's names (C, W1, b1, W2, b2, bngain, bnbias): the MLP's checkpoint format.
    /// Batchnorm's calibrated statistics are saved beside them by the final checkpoint.</summary>
    public override IReadOnlyList<(string Name, Tensor Tensor)> State => Values.Named;

    /// <summary>hprebn, batchnorm's input: the layers before it, e.g. for calibration.</summary>
    public Tensor HPrebn(Tensor X, ForwardMode mode)
    {
        for (int i = 0; i < BatchNormLayer; i++) X = Layers[i].Forward(X, mode);
        return X;
    }

    /// <summary>The forward and loss with the intermediates a backward written outside the layers needs (the workbook's Exercise 4).</summary>
    public TrainingForwardState Run(Tensor Xb, Tensor Yb, ForwardMode mode)
    {
        var embcat = Layers[1].Forward(Layers[0].Forward(Xb, mode), mode);
        var h = Layers[4].Forward(BatchNorm.Forward(Layers[2].Forward(embcat, mode), mode), mode);
        var logits = Layers[5].Forward(h, mode);
        return new TrainingForwardState(embcat, BatchNorm.VarInv, BatchNorm.Xhat, h, logits, F.cross_entropy(logits, Yb));
    }
}
