using ManualVsAuto.Checking;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Reporting;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// Each layer's hand-written backward against autograd, on 2-D and 3-D input: autograd differentiates
/// <c>(out·g).sum()</c> for a random g, whose gradient with respect to out is exactly g, and the layer's
/// backward is handed the same g.
/// </summary>
public class LayerTests
{
    private static GradientCheck CheckLayer(Layer layer, Tensor x, int seed = 7)
    {
        var check = new GradientCheck();
        foreach (var p in layer.Parameters)
        {
            p.Value.requires_grad_(true);
            check.Track(p.Name, p.Value);
        }
        bool floatInput = x.is_floating_point();
        if (floatInput) check.Track("x", x.requires_grad_(true));
        var @out = layer.Forward(x, ForwardMode.Inspect);
        var g = randn(@out.shape, generator: new Generator((ulong)seed));
        check.Backward((@out * g).sum());
        using var _ = no_grad();
        var dx = layer.Backward(g);
        foreach (var p in layer.Parameters) check.Compare(p.Name, p.Grad!);
        if (floatInput) check.Compare("x", dx!, expectExact: layer is not BatchNorm1d);
        else Assert.Null(dx);
        return check;
    }

    private static Tensor Input(params long[] shape) => randn(shape, generator: new Generator(3));

    public static TheoryData<long[]> Shapes => new() { new long[] { 32, 20 }, new long[] { 32, 4, 20 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void LinearBackwardIsExact(long[] shape)
    {
        using var scope = NewDisposeScope();
        foreach (bool bias in new[] { true, false })
        {
            using var layer = new Linear(20, 12, bias, new Generator(1));
            var check = CheckLayer(layer, Input(shape));
            Assert.Equal(bias ? ["weight", "bias", "x"] : new[] { "weight", "x" }, check.Rows.Select(r => r.Name));
            check.AssertAllExact();
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TanhBackwardIsExact(long[] shape)
    {
        using var scope = NewDisposeScope();
        using var layer = new Tanh();
        var check = CheckLayer(layer, Input(shape));
        Assert.Single(check.Rows);
        check.AssertAllExact();
    }

    /// <summary>gamma and beta are exact (the sums autograd does); dx is Exercise 3's fused formula, approximate by construction.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void BatchNormBackwardIsExactForItsParametersAndCloseForItsInput(long[] shape)
    {
        using var scope = NewDisposeScope();
        using var layer = new BatchNorm1d(20);
        // A gamma and beta other than 1 and 0, so a backward that forgets gamma would show.
        using (no_grad())
        {
            layer.Gamma.Value.copy_(rand(20, generator: new Generator(5)) + 0.5);
            layer.Beta.Value.copy_(randn(20, generator: new Generator(6)));
        }
        var check = CheckLayer(layer, Input(shape) * 3 + 1);
        Assert.Equal(["gamma", "beta", "x"], check.Rows.Select(r => r.Name));
        Assert.False(check.Rows[2].ExpectExact);
        check.AssertAllExact();
    }

    [Fact]
    public void EmbeddingBackwardIsExactForOneAndTwoDimensionalIndices()
    {
        using var scope = NewDisposeScope();
        foreach (var shape in new long[][] { [32], [32, 8] })
        {
            using var layer = new Embedding(27, 10, new Generator(1));
            var ix = randint(0, 27, shape, generator: new Generator(2));
            var check = CheckLayer(layer, ix);
            Assert.Equal([.. shape, 10], layer.Forward(ix, ForwardMode.Inspect).shape);
            check.AssertAllExact();
        }
    }

    [Fact]
    public void FlattenConsecutiveBackwardIsExactAndSqueezesATimeOfOne()
    {
        using var scope = NewDisposeScope();
        var layer = new FlattenConsecutive(2);
        var x = Input(32, 4, 10);
        var check = CheckLayer(layer, x);
        check.AssertAllExact();
        Assert.Equal([32, 2, 20], layer.Forward(x, ForwardMode.Inspect).shape);
        // Positions 2t and 2t+1 side by side: out[b, 1] = concat(x[b, 2], x[b, 3]).
        var @out = layer.Forward(x, ForwardMode.Inspect);
        Assert.True(@out[5, 1].eq(cat([x[5, 2], x[5, 3]], 0)).all().item<bool>());
        Assert.Equal([32, 20], layer.Forward(Input(32, 2, 10), ForwardMode.Inspect).shape);
        Assert.Throws<ArgumentException>(() => layer.Forward(Input(32, 3, 10), ForwardMode.Inspect));
    }

    /// <summary>Chained, the fused batchnorm's rounding reaches every gradient below it, so elements near zero are off by
    /// a few ulps and torch's allclose is not the test: the training tolerance (<see cref="Tolerance.Training"/>) is.</summary>
    [Fact]
    public void SequentialBackwardChainsTheLayers()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        using var net = new Sequential([
            new FlattenConsecutive(2), new Linear(20, 16, false, g), new BatchNorm1d(16), new Tanh(),
            new FlattenConsecutive(2), new Linear(32, 5, true, g),
        ]);
        var named = net.NamedParameters;
        foreach (var (_, p) in named) p.Value.requires_grad_(true);
        var x = Input(32, 4, 10).requires_grad_(true);
        var @out = net.Forward(x, ForwardMode.Inspect);
        var dout = randn(@out.shape, generator: new Generator(7));
        var reference = autograd.grad([(@out * dout).sum()], [.. named.Select(p => p.Parameter.Value), x]);
        using var _ = no_grad();
        var dx = net.Backward(dout)!;
        var verdicts = named.Select((p, i) => Cmp.CompareValues(p.Name, p.Parameter.Grad!, reference[i], Tolerance.Training))
            .Append(Cmp.CompareValues("x", dx, reference[^1], Tolerance.Training)).ToList();
        Assert.Equal(["layers[1].weight", "layers[2].gamma", "layers[2].beta", "layers[5].weight", "layers[5].bias", "x"], verdicts.Select(v => v.Name));
        Assert.All(verdicts, v => Assert.True(v.Passed, SharedReportText.Detail(v)));
        // Not vacuous: the same chain with the batchnorm's input gradient off by a factor n/(n−1) (the biased variance) fails.
        var wrongDx = dout;
        for (int i = net.Layers.Count - 1; i >= 0; i--)
            wrongDx = net.Layers[i].Backward(wrongDx)! * (net.Layers[i] is BatchNorm1d ? 128.0 / 127 : 1.0);
        Assert.False(Cmp.CompareValues("x", wrongDx, reference[^1], Tolerance.Training).Passed);
    }

    /// <summary>A layer of 4 million channels (the MLP at a huge --hidden) moves its running statistics and normalises as a
    /// narrow one does: its temporaries are not on the stack, which they would overflow and end the process.</summary>
    [Fact]
    public void AVeryWideBatchNormTrainsWithoutOverflowingTheStack()
    {
        using var scope = NewDisposeScope();
        const long width = 4_000_000;
        var x = tensor(new float[] { 1, 3 }).repeat(width).view(width, 2).t().contiguous(); // each channel sees 1 and 3
        using var layer = new BatchNorm1d(width);
        var @out = layer.Forward(x, ForwardMode.Train);
        Assert.True(layer.RunningMean.eq(0.2f).all().item<bool>()); // 0.9·0 + 0.1·2
        Assert.True(layer.RunningVar.eq(1.1f).all().item<bool>()); // 0.9·1 + 0.1·2 (unbiased variance of 1 and 3)
        Assert.True(@out.select(0, 0).lt(0).all().item<bool>() && @out.select(0, 1).gt(0).all().item<bool>());
    }

    /// <summary>Without a graph the batch variance is computed in C# (libtorch's Welford in double, vectorised); with one it is
    /// libtorch's <c>var</c>. The two forwards must agree bit for bit (the step-0 loss is PyTorch's to every digit), on 2-D and
    /// 3-D input, at any scale and offset (Welford's rounding shows most on a large mean), and in every mode's statistics.</summary>
    [Fact]
    public void BatchNormForwardWithoutAGraphIsBitForBitTheAutogradForward()
    {
        var g = new Generator(13);
        long[][] shapes = [[32, 4, 128], [32, 2, 128], [32, 128], [2, 5], [3, 2, 7], [200, 600]];
        for (int trial = 0; trial < 60; trial++)
        {
            using var scope = NewDisposeScope();
            var shape = shapes[trial % shapes.Length];
            float scale = (float)Math.Exp(4 * rand(1, generator: g).item<float>() - 2), offset = 10 * randn(1, generator: g).item<float>();
            var x = randn(shape, generator: g) * scale + offset;
            if (trial % 3 == 0) x = x.tanh();
            using var fast = new BatchNorm1d(shape[^1]);
            using var reference = new BatchNorm1d(shape[^1]);
            fast.RunningMean.fill_(0.5f); // a running mean that moves is not vacuous
            reference.RunningMean.fill_(0.5f);
            var @out = fast.Forward(x, ForwardMode.Train);
            var want = reference.Forward(x.detach().requires_grad_(true), ForwardMode.Train).detach();
            Assert.True(@out.equal(want).all().item<bool>(), $"trial {trial}: shape ({string.Join(", ", shape)}), scale {scale}, offset {offset}");
            // The running statistics as the lecture's running.mul_(0.9).add_(0.1·batch) rounds them, from the reference's own batch statistics.
            long[] dims = shape.Length == 3 ? [0, 1] : [0];
            var wantMean = ones(shape[^1]).mul_(0.5).mul_(0.9).add_(x.mean(dims, keepdim: false) * 0.1);
            var wantVar = ones(shape[^1]).mul_(0.9).add_(x.var(dims, unbiased: true, keepdim: false) * 0.1);
            Assert.True(fast.RunningMean.equal(wantMean).all().item<bool>() && reference.RunningMean.equal(wantMean).all().item<bool>());
            Assert.True(fast.RunningVar.equal(wantVar).all().item<bool>() && reference.RunningVar.equal(wantVar).all().item<bool>());
        }
        // In float64 a last-bit difference in the variance shows in the output (in float32 it mostly rounds away): here
        // a Welford step whose m2 update is not one fused multiply-add, as libtorch's build computes it, fails.
        for (int trial = 0; trial < 12; trial++)
        {
            using var scope = NewDisposeScope();
            var shape = shapes[trial % shapes.Length];
            var x = randn(shape, dtype: ScalarType.Float64, generator: g) * 3 + 5;
            using var layer = new BatchNorm1d(shape[^1]);
            var @out = layer.Forward(x, ForwardMode.Inspect);
            var want = layer.Forward(x.detach().requires_grad_(true), ForwardMode.Inspect).detach();
            Assert.Equal(ScalarType.Float64, @out.dtype);
            Assert.True(@out.equal(want).all().item<bool>(), $"float64 trial {trial}: shape ({string.Join(", ", shape)})");
        }
    }

    /// <summary>The lecture's batchnorm: unbiased variance over n = B·T for 3-D input, running statistics moved by momentum 0.1 in
    /// training only; eval normalises with them. Expected values are computed here element by element in double.</summary>
    [DataFact]
    public void BatchNormStatisticsFollowTheLecture()
    {
        using var scope = NewDisposeScope();
        using var bn = new BatchNorm1d(3);
        var x = Input(4, 5, 3) * 2 + 0.5; // n = 20 per channel
        var v = x.data<float>().ToArray();
        var mean = new double[3];
        var var = new double[3];
        for (int c = 0; c < 3; c++)
        {
            var xs = Enumerable.Range(0, 20).Select(i => (double)v[i * 3 + c]).ToArray();
            mean[c] = xs.Average();
            var[c] = xs.Sum(a => (a - mean[c]) * (a - mean[c])) / 19; // Bessel: n − 1 = B·T − 1
        }

        var probe = bn.Forward(x, ForwardMode.Inspect);
        AssertClose([0, 0, 0], bn.RunningMean);
        AssertClose([1, 1, 1], bn.RunningVar);
        // (x − mean)/sqrt(var + eps) with gamma 1, beta 0
        AssertClose(Enumerable.Range(0, 3).Select(c => (v[c] - mean[c]) / Math.Sqrt(var[c] + 1e-5)).ToArray(), probe[0, 0]);

        bn.Forward(x, ForwardMode.Train);
        AssertClose(mean.Select(m => 0.1 * m).ToArray(), bn.RunningMean);
        AssertClose(var.Select(s => 0.9 + 0.1 * s).ToArray(), bn.RunningVar);

        var eval = bn.Forward(x, ForwardMode.Eval);
        AssertClose(Enumerable.Range(0, 3).Select(c => (v[c] - 0.1 * mean[c]) / Math.Sqrt(0.9 + 0.1 * var[c] + 1e-5)).ToArray(), eval[0, 0]);
        AssertClose(mean.Select(m => 0.1 * m).ToArray(), bn.RunningMean); // eval moves nothing
    }

    private static void AssertClose(double[] expected, Tensor actual)
    {
        var a = actual.to_type(ScalarType.Float64).data<double>().ToArray();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(expected[i] - a[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"[{i}] {a[i]} vs {expected[i]}");
    }
}
