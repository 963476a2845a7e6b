using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Tests;

/// <summary>Exercise 4's MLP made of the part-5 layers: the same tensors and draws as <see cref="MlpParameters.Init"/>,
/// the same loss as Exercise 1's chunked forward, and its layers checked against autograd one by one.</summary>
public class MlpTests
{
    private static readonly string[] LectureNames = ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias"];

    /// <summary>The layers hold the very tensors Init made (not copies), and those are the lecture's draws in the
    /// lecture's order from one seeded generator, written out here as the notebook's lines.</summary>
    [Fact]
    public void LayersWrapInitsTensorsWhichAreTheLecturesDraws()
    {
        using var scope = NewDisposeScope();
        var p = MlpParameters.Init(new MlpConfig(), new Generator(MlpConfig.LectureSeed));
        using var net = new Mlp(p);
        Assert.Equal(["Embedding", "FlattenConsecutive", "Linear", "BatchNorm1d", "Tanh", "Linear"], net.Layers.Select(l => l.Kind));
        foreach (var ((name, mine), (_, original)) in net.Values.Named.Zip(p.Named))
            Assert.True(ReferenceEquals(mine, original), $"{name} is not Init's tensor");
        Assert.Equal(LectureNames, net.State.Select(s => s.Name));
        Assert.Equal(p.Count, net.Count);
        Assert.Equal(3, net.BlockSize);

        var g = new Generator(MlpConfig.LectureSeed);
        Tensor[] lecture =
        [
            randn(27, 10, generator: g),                                   // C
            randn(30, 64, generator: g) * (5.0 / 3) / Math.Sqrt(30),       // W1: Kaiming init with tanh's gain 5/3
            randn(64, generator: g) * 0.1,                                 // b1
            randn(64, 27, generator: g) * 0.1,                             // W2
            randn(27, generator: g) * 0.1,                                 // b2
            randn(1, 64, generator: g) * 0.1 + 1.0,                        // bngain
            randn(1, 64, generator: g) * 0.1,                              // bnbias
        ];
        foreach (var ((name, mine), expected) in net.State.Zip(lecture))
            Assert.True(mine.detach().eq(expected).all().item<bool>(), $"{name} is not the lecture's draw");
    }

    /// <summary>
    /// The layers' forward (loss by <c>F.cross_entropy</c>, batchnorm by <c>var</c> and a division) against Exercise 1's
    /// chunked forward (the softmax and the variance written out step by step): the same maths in other float32 ops.
    /// The loss is ≈ 3.5, where a float32 ulp is 2.4e-7; the two accumulate rounding over ≈ 10 ops, measured ≤ 2.4e-7
    /// (1 ulp) over these batches, so the bound is 2e-6 (8 ulps). A real difference (a biased variance, a dropped eps
    /// in the wrong place) moves the loss by 1e-4 or more.
    /// </summary>
    [DataTheory]
    [InlineData(2147483647UL, 32, 64)]
    [InlineData(1UL, 32, 200)]
    [InlineData(7UL, 3, 10)]
    public void LayerForwardLossEqualsTheChunkedForwards(ulong seed, int batch, int hidden)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(seed);
        var p = MlpParameters.Init(new MlpConfig(NHidden: hidden), g).Copy(requiresGrad: false);
        var (Xb, Yb) = Minibatch.Draw(LectureFixture.Split.Train, batch, g);
        double chunked = StepByStepForward.Run(p, Xb, Yb, null).loss.item<float>();
        using var net = new Mlp(p.Copy(requiresGrad: false));
        double layers = F.cross_entropy(net.Forward(Xb, ForwardMode.Inspect), Yb).item<float>();
        Assert.True(Math.Abs(layers - chunked) <= 2e-6, $"layers {layers:R} vs chunked {chunked:R}");
    }

    private static readonly string[] BackwardOrder =
    [
        "layers[5] Linear out", "layers[5] Linear weight", "layers[5] Linear bias",
        "layers[4] Tanh out", "layers[3] BatchNorm1d out", "layers[3] BatchNorm1d gamma", "layers[3] BatchNorm1d beta",
        "layers[2] Linear out", "layers[2] Linear weight", "layers[2] Linear bias", "layers[1] FlattenConsecutive out",
        "layers[0] Embedding out", "layers[0] Embedding weight",
    ];

    private static (Mlp Model, Tensor Xb, Tensor Yb) LectureBatch()
    {
        var g = new Generator(MlpConfig.LectureSeed);
        var model = new Mlp(MlpParameters.Init(new MlpConfig(), g));
        var (Xb, Yb) = Minibatch.Draw(LectureFixture.Split.Train, 32, g);
        return (model, Xb, Yb);
    }

    /// <summary>
    /// <c>LayerCheck</c> on the MLP: every layer's rows, each layer's backward fed autograd's gradient of its output. The
    /// fused rows (the logits, batchnorm's input) are approximate by construction; every other row is exact, bngain's
    /// and bnbias's in their (1, 64) shape.
    /// </summary>
    [DataFact]
    public void CheckListsEveryLayerInBackwardOrderAllPassing()
    {
        using var scope = NewDisposeScope();
        var (model, Xb, Yb) = LectureBatch();
        using var _ = model;
        var (check, loss) = LayerCheck.Run(model, Xb, Yb, FiniteDifferenceMode.Fast);
        Assert.Equal(BackwardOrder, check.Rows.Select(r => r.Name));
        Assert.Equal(["layers[5] Linear out", "layers[2] Linear out"], check.Rows.Where(r => !r.ExpectExact).Select(r => r.Name));
        Assert.All(check.Rows, r => Assert.True(r.Meets(RequiredLevel.Exact), $"{r.Name}: {r.VerdictText}"));
        Assert.All(check.Rows.Where(r => r.ExpectExact), r => Assert.Equal(0.0, r.MaxDiff));
        Assert.Equal([1L, 64], check.Rows.Single(r => r.Name == "layers[3] BatchNorm1d gamma").Shape);
        Assert.Equal(7, check.Rows.Count(r => r.Numeric is { Passed: true }));
        Assert.Equal(3.5571, loss.item<float>(), 4); // the check's loss, as README's report
    }

    /// <summary>
    /// The layer check decides in float64 too: a tanh backward 3e-6 too large is allclose in float32 but wrong in
    /// float64, and only its row fails; the right formula without the fused multiply-add (1 − out·out, excess 0) is
    /// approximate, proved right in float64.
    /// </summary>
    [DataTheory]
    [InlineData(3e-6, false)]
    [InlineData(0.0, true)]
    public void TheLayerCheckDecidesInFloat64(double excess, bool right)
    {
        using var scope = NewDisposeScope();
        var (model, Xb, Yb) = LectureBatch();
        using var _ = model;
        int tanh = model.Layers.ToList().FindIndex(l => l.Kind == "Tanh");
        using var variant = new Sequential(model.Layers.Select((l, i) => i == tanh ? new TanhScaled(excess) : l).ToList());
        var (check, _) = LayerCheck.Run(variant, Xb, Yb, numeric: null);
        var row = check.Rows.Single(r => r.Name == LayerCheck.RowName(tanh - 1, model.Layers[tanh - 1], "out"));
        Assert.True(row.Approximate, row.VerdictText); // float32's allclose cannot tell
        if (right)
        {
            Assert.Equal(Verdict.Approximate, row.Verdict);
            Assert.Contains("float64 rerun", row.Evidence);
        }
        else Assert.Equal(Verdict.Wrong, row.Verdict);
        Assert.Equal(right ? [] : [row.Name], check.Rows.Where(r => !r.Passed).Select(r => r.Name));
    }

    [DataTheory]
    [InlineData(4, "layers[3] BatchNorm1d out")]
    [InlineData(3, "layers[2] Linear out")]
    public void AWrongLayerBackwardIsFoundAtThatLayer(int wrong, string failingRow)
    {
        using var scope = NewDisposeScope();
        var (model, Xb, Yb) = LectureBatch();
        WrongLayers.AssertFoundAt(model, wrong, n: 32, Xb, Yb, BackwardOrder, failingRow);
    }
}
