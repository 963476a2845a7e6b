using ManualVsAuto.Checking;
using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>A tanh backward without the square, <c>(1 − out)·dout</c>.</summary>
internal sealed class TanhWithoutSquare : Layer
{
    private Tensor @out = null!;
    public override string Kind => "Tanh";
    public override Tensor Forward(Tensor x, ForwardMode mode) => @out = x.tanh();
    public override Tensor Backward(Tensor dout) => (1 - @out) * dout;
}

/// <summary>A tanh backward off by a factor 1 + <paramref name="excess"/>: within allclose for a small excess, so
/// only float64 tells it from rounding.</summary>
internal sealed class TanhScaled(double excess) : Layer
{
    private Tensor @out = null!;
    public override string Kind => "Tanh";
    public override Tensor Forward(Tensor x, ForwardMode mode) => @out = x.tanh();
    public override Tensor Backward(Tensor dout) => (1 - @out * @out) * dout * (1 + excess);
}

/// <summary>A batchnorm whose input gradient is off by n/(n−1) (the biased variance's factor; n is the number of
/// values each mean is taken over, e.g. 32 for a (32, C) batch, 64 for (32, 2, C)).</summary>
internal sealed class BiasedBatchNorm(BatchNorm1d inner, int n) : Layer
{
    public override string Kind => inner.Kind;
    public override IReadOnlyList<LayerParameter> Parameters => inner.Parameters;
    public override Tensor Forward(Tensor x, ForwardMode mode) => inner.Forward(x, mode);
    public override Tensor Backward(Tensor dout) => inner.Backward(dout) * ((double)n / (n - 1));
}

internal static class WrongLayers
{
    /// <summary>
    /// Replaces layer <paramref name="wrong"/> of <paramref name="model"/> by its wrong twin (a batchnorm off by
    /// n/(n−1), else a tanh without the square) and checks the model layer by layer: every row is listed, and only
    /// <paramref name="failingRow"/> (the wrong layer's input gradient) fails. Disposes the model.
    /// </summary>
    public static void AssertFoundAt(Sequential model, int wrong, int n, Tensor Xb, Tensor Yb, IReadOnlyList<string> backwardOrder, string failingRow)
    {
        using var broken = new Sequential(model.Layers.Select((l, i) =>
            i != wrong ? l : l is BatchNorm1d bn ? new BiasedBatchNorm(bn, n) : (Layer)new TanhWithoutSquare()).ToList());
        var (check, _) = LayerCheck.Run(broken, Xb, Yb, numeric: null);
        Assert.Equal(backwardOrder, check.Rows.Select(r => r.Name));
        Assert.Equal([failingRow], check.Rows.Where(r => !r.Meets(RequiredLevel.Approx)).Select(r => r.Name));
    }
}
