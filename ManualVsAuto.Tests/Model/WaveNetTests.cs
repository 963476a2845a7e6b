using ManualVsAuto.Checking;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Reporting;
using ManualVsAuto.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Tests;

/// <summary>Part 5's split: the lecture's shuffle with contexts of 8 characters, built once.</summary>
public static class WaveNetFixture
{
    private static readonly Lazy<DataSplit> split = new(() => Dataset.Split(NamesFile.Load(RealData.Path), WaveNet.BlockSize));

    public static DataSplit Split => split.Value;
}

/// <summary>makemore part 5's WaveNet: its size, the lecture's first loss, and its check layer by layer.</summary>
public class WaveNetTests
{
    private static Examples Train => WaveNetFixture.Split.Train;

    [Fact]
    public void HasTheLecturesParameterCount()
    {
        using var scope = NewDisposeScope();
        using var model = WaveNet.Create(new Generator(WaveNet.LectureSeed));
        Assert.Equal(76_579, model.Count); // the notebook prints 76579
        Assert.Equal(14, model.Layers.Count);
        Assert.Equal(76_579, WaveNet.ParameterCount());
        using var other = WaveNet.Create(new Generator(1), nEmbd: 5, nHidden: 7);
        Assert.Equal(other.Count, WaveNet.ParameterCount(nEmbd: 5, nHidden: 7));
    }

    /// <summary>
    /// The reference numbers come from part 5's notebook code run by PyTorch 1.13 (Debian's python3-torch) on the same
    /// names.txt: <c>torch.manual_seed(42)</c>, the model, then <c>torch.randint(0, Xtr.shape[0], (32,))</c>. TorchSharp's
    /// seeded generator draws the same randn/randint streams, so the parameters and the batch are the lecture's, and the
    /// step-0 loss is its 3.3167 to every float32 digit.
    /// </summary>
    [DataFact]
    public void StepZeroLossIsTheLecturesFromPyTorch()
    {
        using var scope = NewDisposeScope();
        Assert.Equal(182_625, Train.Count);
        Assert.Equal(8, Train.BlockSize);
        var g = new Generator(WaveNet.LectureSeed);
        using var model = WaveNet.Create(g);
        var ix = randint(0, Train.Count, [32], generator: g);
        Assert.Equal([35329L, 45922, 96223, 79937, 101301], ix.narrow(0, 0, 5).data<long>().ToArray());
        var (Xb, Yb) = Train.Gather(ix.data<long>().ToArray());
        var loss = F.cross_entropy(model.Forward(Xb, ForwardMode.Train), Yb).item<float>();
        const double PyTorch = 3.3167154788970947;
        Assert.True(Math.Abs(loss - PyTorch) <= 4.8e-7, $"step-0 loss {loss:R}, PyTorch {PyTorch:R}"); // within 2 float32 ulps
    }

    private static readonly string[] BackwardOrder =
    [
        "layers[13] Linear out", "layers[13] Linear weight", "layers[13] Linear bias",
        "layers[12] Tanh out", "layers[11] BatchNorm1d out", "layers[11] BatchNorm1d gamma", "layers[11] BatchNorm1d beta",
        "layers[10] Linear out", "layers[10] Linear weight", "layers[9] FlattenConsecutive out",
        "layers[8] Tanh out", "layers[7] BatchNorm1d out", "layers[7] BatchNorm1d gamma", "layers[7] BatchNorm1d beta",
        "layers[6] Linear out", "layers[6] Linear weight", "layers[5] FlattenConsecutive out",
        "layers[4] Tanh out", "layers[3] BatchNorm1d out", "layers[3] BatchNorm1d gamma", "layers[3] BatchNorm1d beta",
        "layers[2] Linear out", "layers[2] Linear weight", "layers[1] FlattenConsecutive out",
        "layers[0] Embedding out", "layers[0] Embedding weight",
    ];

    [DataFact]
    public void CheckListsEveryLayerInBackwardOrderAllPassing()
    {
        var report = LayerCheck.RunWaveNet(Train, new CheckSettings(Seed: WaveNet.LectureSeed, NHidden: WaveNet.LectureNHidden));
        Assert.Equal(BackwardOrder, report.Rows.Select(r => r.Name));
        // Approximate by construction: the fused cross-entropy (the logits) and the fused batchnorm (each BatchNorm1d's input).
        Assert.Equal(["layers[13] Linear out", "layers[10] Linear out", "layers[6] Linear out", "layers[2] Linear out"],
            report.Rows.Where(r => !r.ExpectExact).Select(r => r.Name));
        Assert.True(report.Passes(RequiredLevel.Exact));
        Assert.All(report.Rows.Where(r => r.ExpectExact), r => Assert.Equal(0.0, r.MaxDiff));
        Assert.Equal(12, report.Rows.Count(r => r.Numeric is { Passed: true }));
        Assert.Equal(3.3167, report.Loss, 4);
    }

    private static (Sequential Model, Tensor Xb, Tensor Yb) LectureBatch()
    {
        var g = new Generator(WaveNet.LectureSeed);
        var model = WaveNet.Create(g);
        foreach (var p in model.Parameters) p.Value.requires_grad_(true);
        var (Xb, Yb) = Minibatch.Draw(Train, 32, g);
        return (model, Xb, Yb);
    }

    [DataTheory]
    [InlineData(8, "layers[7] BatchNorm1d out")]
    [InlineData(7, "layers[6] Linear out")]
    public void AWrongLayerBackwardIsFoundAtThatLayer(int wrong, string failingRow)
    {
        using var scope = NewDisposeScope();
        var (model, Xb, Yb) = LectureBatch();
        WrongLayers.AssertFoundAt(model, wrong, n: 64, Xb, Yb, BackwardOrder, failingRow);
    }

    /// <summary>
    /// <c>--verify-every</c> on the net with layer 7's batchnorm input gradient off by n/(n−1): check's rows at the
    /// training tolerance, in backward order; the layers above it pass, the first parameter below it is the likely
    /// origin with check's hint, the rest may inherit.
    /// </summary>
    [DataFact]
    public void VerifyingAWrongLayerFailsWithChecksVerdictAndHint()
    {
        using var scope = NewDisposeScope();
        var (lecture, Xb, Yb) = LectureBatch();
        var model = new Sequential(lecture.Layers.Select((l, i) => i == 7 ? new BiasedBatchNorm((BatchNorm1d)l, n: 64) : l).ToList());
        foreach (var p in model.Parameters) p.Value.requires_grad_(false);
        using var trainer = new ManualLayerTrainer(model);
        var rows = trainer.Verify(Xb, Yb);
        Assert.Equal(["layers[13].bias", "layers[13].weight", "layers[11].beta", "layers[11].gamma", "layers[10].weight", "layers[7].beta",
            "layers[7].gamma", "layers[6].weight", "layers[3].beta", "layers[3].gamma", "layers[2].weight", "layers[0].weight"], rows.Select(r => r.Name));
        Assert.All(rows, r => Assert.Same(Tolerance.Training, r.Tolerance));
        Assert.All(rows.Take(7), r => Assert.True(r.Passed, SharedReportText.Detail(r)));
        Assert.Equal("WRONG (likely origin)", rows[7].VerdictText);
        Assert.Contains("hint: off by a constant factor", rows[7].Hint);
        Assert.All(rows.Skip(8), r => Assert.Equal("may inherit ← upstream", r.VerdictText));
        Assert.All(rows.Skip(8), r => Assert.Null(r.Hint));
    }

    [DataFact]
    public void CheckingAndVerifyingLeaveTheRunningStatisticsAlone()
    {
        using var scope = NewDisposeScope();
        var (model, Xb, Yb) = LectureBatch();
        using var _ = model;
        LayerCheck.Run(model, Xb, Yb, FiniteDifferenceMode.Fast);
        foreach (var p in model.Parameters) p.Value.requires_grad_(false);
        using var trainer = new ManualLayerTrainer(model);
        Assert.All(trainer.Verify(Xb, Yb), v => Assert.True(v.Passed, SharedReportText.Detail(v)));
        foreach (var bn in model.Layers.OfType<BatchNorm1d>())
        {
            Assert.True(bn.RunningMean.eq(0).all().item<bool>());
            Assert.True(bn.RunningVar.eq(1).all().item<bool>());
        }
        // A training step moves them.
        trainer.Step(Xb, Yb, 0.1);
        Assert.All(model.Layers.OfType<BatchNorm1d>(), bn => Assert.False(bn.RunningMean.eq(0).all().item<bool>()));
    }
}
