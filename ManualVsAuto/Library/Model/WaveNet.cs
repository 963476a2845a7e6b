using ManualVsAuto.Data;
using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;

namespace ManualVsAuto.Model;

/// <summary>
/// makemore part 5's hierarchical net: <c>Embedding → [FlattenConsecutive(2) → Linear(no bias) → BatchNorm1d → Tanh] × 3
/// → Linear</c> over a context of 8 characters, with the last layer's weight scaled by 0.1 ("less confident").
/// </summary>
public static class WaveNet
{
    public const int BlockSize = 8;
    public const int LectureNEmbd = 24;
    public const int LectureNHidden = 128;

    /// <summary>The lecture's seed: <c>torch.manual_seed(42)</c> before the model is built.</summary>
    public const ulong LectureSeed = 42;

    /// <summary>Its registry entry (<see cref="ModelKinds.WaveNet"/>): part 5 trains it with n_hidden 128 after
    /// <c>torch.manual_seed(42)</c>, lr 0.01 from step 150,000.</summary>
    public static readonly ModelKind Entry = new()
    {
        Name = "wavenet",
        Description = "makemore part 5's hierarchical net, checked and trained layer by layer",
        BlockSize = BlockSize,
        LectureSeed = LectureSeed,
        LectureNHidden = LectureNHidden,
        LectureDecayStep = 150_000,
        Create = (g, nHidden) => Create(g, nHidden: nHidden),
        // Past 10⁹ hidden units 4·n_hidden² overflows a long; that term alone (a lower bound) is far beyond any memory.
        ParameterCount = h => h <= 1_000_000_000 ? ParameterCount(nHidden: h) : 4.0 * h * h,
        ActivationsPerExample = Activations,
        StateShapes = h => StateShapes(nHidden: h),
    };

    /// <summary>Draws in the notebook's order: C, then each Linear's weight (biases are zeros, batchnorm starts at 1 and 0).</summary>
    public static Sequential Create(Generator g, int nEmbd = LectureNEmbd, int nHidden = LectureNHidden, int vocabSize = Vocabulary.Size)
    {
        var layers = new List<Layer> { new Embedding(vocabSize, nEmbd, g) };
        long fanIn = nEmbd;
        for (int i = 0; i < 3; i++)
        {
            layers.AddRange([new FlattenConsecutive(2), new Linear(fanIn * 2, nHidden, bias: false, g), new BatchNorm1d(nHidden), new Tanh()]);
            fanIn = nHidden;
        }
        var last = new Linear(nHidden, vocabSize, bias: true, g);
        layers.Add(last);
        using (no_grad()) last.Weight.Value.mul_(0.1); // last layer: make less confident
        return new Sequential(layers);
    }

    /// <summary>What <see cref="Create"/>'s model counts, without building it: the embedding, three Linear layers
    /// without bias (the first reads two embeddings, the others two hidden vectors) with a batchnorm's gamma and beta
    /// each, and the last Linear with its bias.</summary>
    public static long ParameterCount(int nEmbd = LectureNEmbd, long nHidden = LectureNHidden, int vocabSize = Vocabulary.Size) =>
        (long)vocabSize * nEmbd + 2L * nEmbd * nHidden + 2 * (2 * nHidden * nHidden) + 3 * 2 * nHidden + nHidden * vocabSize + vocabSize;

    /// <summary>One example's activations: the embedding (8 × 24), the three blocks' outputs over 4, 2 and 1 positions
    /// (7 × n_hidden) and the logits.</summary>
    public static double Activations(long nHidden) => BlockSize * LectureNEmbd + (BlockSize - 1) * (double)nHidden + Vocabulary.Size;

    /// <summary>The names and shapes of <see cref="Create"/>'s <see cref="Sequential.State"/> (parameters, then each
    /// batchnorm's running statistics), without building it: what a checkpoint of this net must hold.</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> StateShapes(int nEmbd = LectureNEmbd, long nHidden = LectureNHidden, int vocabSize = Vocabulary.Size)
    {
        var shapes = new List<(string, long[])> { ("layers[0].weight", [vocabSize, nEmbd]) };
        long fanIn = nEmbd;
        for (int i = 0; i < 3; i++)
        {
            int linear = 2 + 4 * i, batchNorm = linear + 1;
            shapes.Add(($"layers[{linear}].weight", [fanIn * 2, nHidden]));
            foreach (var name in new[] { "gamma", "beta", "running_mean", "running_var" }) shapes.Add(($"layers[{batchNorm}].{name}", [nHidden]));
            fanIn = nHidden;
        }
        shapes.Add(("layers[13].weight", [nHidden, vocabSize]));
        shapes.Add(("layers[13].bias", [vocabSize]));
        return shapes;
    }
}
