using static TorchSharp.torch;

namespace ManualVsAuto.Model;

/// <summary>C, W1, b1, W2, b2, bngain, bnbias: the lecture's MLP with batchnorm.</summary>
public sealed record MlpParameters(Tensor C, Tensor W1, Tensor b1, Tensor W2, Tensor b2, Tensor bngain, Tensor bnbias)
{
    /// <summary>In the lecture's order, as the lecture's <c>parameters</c> list.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> Named =>
        [("C", C), ("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2), ("bngain", bngain), ("bnbias", bnbias)];

    /// <summary>In the order the MLP's layers use them (<see cref="Mlp"/>); reversed, the backward's order, in which
    /// the first wrong gradient is the likely origin of a mistake.</summary>
    public IReadOnlyList<(string Name, Tensor Tensor)> InLayerOrder =>
        [("C", C), ("W1", W1), ("b1", b1), ("bngain", bngain), ("bnbias", bnbias), ("W2", W2), ("b2", b2)];

    public IEnumerable<Tensor> All => Named.Select(p => p.Tensor);

    public long Count => All.Sum(p => p.numel());

    /// <summary>
    /// The lecture's init, all from one generator so a seed fixes everything. The lecture draws bngain
    /// and bnbias from the unseeded global generator; here they come from the same one, after b2.
    /// Drawn in float32 (as the lecture) and then converted, so float64 runs start from the same values.
    /// </summary>
    /// <summary>The shapes <see cref="Init"/> makes, by name, in the order of <see cref="Named"/>, without building them
    /// (what a checkpoint of this config must hold).</summary>
    public static IReadOnlyList<(string Name, long[] Shape)> Shapes(MlpConfig config)
    {
        long h = config.NHidden, fanIn = (long)config.NEmbd * config.BlockSize;
        return [("C", [config.VocabSize, config.NEmbd]), ("W1", [fanIn, h]), ("b1", [h]), ("W2", [h, config.VocabSize]),
            ("b2", [config.VocabSize]), ("bngain", [1, h]), ("bnbias", [1, h])];
    }

    public static MlpParameters Init(MlpConfig config, Generator g, ScalarType dtype = ScalarType.Float32)
    {
        int fanIn = config.NEmbd * config.BlockSize;
        var C = randn(config.VocabSize, config.NEmbd, generator: g);
        var W1 = randn(fanIn, config.NHidden, generator: g) * (5.0 / 3.0) / Math.Sqrt(fanIn);
        var b1 = randn(config.NHidden, generator: g) * 0.1;
        var W2 = randn(config.NHidden, config.VocabSize, generator: g) * 0.1;
        var b2 = randn(config.VocabSize, generator: g) * 0.1;
        var bngain = randn(1, config.NHidden, generator: g) * 0.1 + 1.0;
        var bnbias = randn(1, config.NHidden, generator: g) * 0.1;
        return new MlpParameters(Leaf(C), Leaf(W1), Leaf(b1), Leaf(W2), Leaf(b2), Leaf(bngain), Leaf(bnbias));

        Tensor Leaf(Tensor t) => t.to_type(dtype).detach().requires_grad_(true);
    }

    /// <summary>Detached copies without gradients, e.g. to start a second run from the same point.</summary>
    public MlpParameters Copy(bool requiresGrad) =>
        Map(t => t.detach().clone().requires_grad_(requiresGrad));

    public MlpParameters Map(Func<Tensor, Tensor> f) => new(f(C), f(W1), f(b1), f(W2), f(b2), f(bngain), f(bnbias));
}
