using ManualVsAuto.Data;
using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;

namespace ManualVsAuto.Model;

/// <summary>
/// makemore part 3's deep net: <c>C</c>, then <c>[Linear(30, n_hidden, bias=False), BatchNorm1d, Tanh]</c>, four more
/// <c>[Linear(n_hidden, n_hidden, bias=False), BatchNorm1d, Tanh]</c> and <c>Linear(n_hidden, 27, bias=False),
/// BatchNorm1d(27)</c>, over a context of 3 characters. Here <c>C</c> is layer 0 and the view of the embeddings layer 1,
/// so the notebook's <c>layers[i]</c> is <c>layers[i + 2]</c>.
/// </summary>
public static class DeepNet
{
    public const int BlockSize = Dataset.LectureBlockSize;
    public const int LectureNEmbd = 10;
    public const int LectureNHidden = 100;

    /// <summary>The hidden [Linear, BatchNorm1d, Tanh] blocks.</summary>
    public const int HiddenBlocks = 5;

    /// <summary>The notebook's settings: 1,001 steps (i = 0 … 1000) at lr 0.1; a full run (<c>--steps 200000</c>) has
    /// lr 0.01 from step 150,000, as part 3's loop.</summary>
    public static readonly ModelKind Entry = new()
    {
        Name = "deep",
        Description = "makemore part 3's deep net (five tanh layers with batchnorm), checked and trained layer by layer",
        BlockSize = BlockSize,
        LectureSeed = MlpConfig.LectureSeed,
        LectureNHidden = LectureNHidden,
        LectureSteps = 1_001,
        LectureDecayStep = 150_000,
        Create = (g, nHidden) => Create(g, nHidden: nHidden),
        // Past 10⁹ hidden units 4·n_hidden² overflows a long; that term alone (a lower bound) is far beyond any memory.
        ParameterCount = h => h <= 1_000_000_000 ? ParameterCount(nHidden: h) : 4.0 * h * h,
        // The embeddings and their view, then each block's Linear, BatchNorm1d and Tanh outputs, then the logits twice.
        ActivationsPerExample = h => 2.0 * LectureNEmbd * BlockSize + 3.0 * HiddenBlocks * h + 2.0 * Vocabulary.Size,
    };

    /// <summary>The notebook's layers sit after the embedding and its view.</summary>
    public const int NotebookLayerOffset = 2;

    /// <summary>
    /// Draws in the notebook's order: C, then each Linear's weight. With batchnorm (the notebook's net) the last
    /// batchnorm's gamma is scaled by 0.1 and every Linear's weight by <paramref name="gain"/> (1.0; the notebook's
    /// <c>#5/3</c>). Without it (part 3's first deep net) the Linears have biases, the last one's weight is scaled by 0.1
    /// and the others' by the gain.
    /// </summary>
    public static Sequential Create(Generator g, int nEmbd = LectureNEmbd, int nHidden = LectureNHidden, double gain = 1.0,
        bool batchNorm = true, int vocabSize = Vocabulary.Size)
    {
        var layers = new List<Layer> { new Embedding(vocabSize, nEmbd, g), new FlattenConsecutive(BlockSize) };
        long fanIn = (long)nEmbd * BlockSize;
        for (int i = 0; i < HiddenBlocks; i++)
        {
            layers.Add(new Linear(fanIn, nHidden, bias: !batchNorm, g));
            if (batchNorm) layers.Add(new BatchNorm1d(nHidden));
            layers.Add(new Tanh());
            fanIn = nHidden;
        }
        var last = new Linear(nHidden, vocabSize, bias: !batchNorm, g);
        layers.Add(last);
        if (batchNorm) layers.Add(new BatchNorm1d(vocabSize));
        using (no_grad())
        {
            // last layer: make less confident
            if (layers[^1] is BatchNorm1d bn) bn.Gamma.Value.mul_(0.1);
            else last.Weight.Value.mul_(0.1);
            // all other layers: apply gain
            foreach (var layer in layers.Take(layers.Count - 1))
                if (layer is Linear linear) linear.Weight.Value.mul_(gain);
        }
        return new Sequential(layers);
    }

    /// <summary>What <see cref="Create"/>'s model (with batchnorm) counts, without building it: 47,024 at the notebook's sizes.</summary>
    public static long ParameterCount(int nEmbd = LectureNEmbd, long nHidden = LectureNHidden, int vocabSize = Vocabulary.Size) =>
        (long)vocabSize * nEmbd + (long)nEmbd * BlockSize * nHidden + (HiddenBlocks - 1) * nHidden * nHidden + nHidden * vocabSize
        + HiddenBlocks * 2 * nHidden + 2L * vocabSize;
}
