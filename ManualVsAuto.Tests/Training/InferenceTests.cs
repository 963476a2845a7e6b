using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Training;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Tests;

/// <summary>Calibration and split losses run in chunks through the MLP's layers; they must equal the lecture's whole-split computation.</summary>
public class InferenceTests
{
    /// <summary>The reference is the lecture's code on the whole training split at once (182,625 examples, 12 chunks),
    /// mean and variance in float64: the chunked float64 merge must agree to float32 precision, and the statistics
    /// must be the ones the batchnorm layer then uses.</summary>
    [DataFact]
    public void ChunkedCalibrationAndLossEqualTheWholeSplitComputation()
    {
        using var scope = NewDisposeScope();
        var p = MlpParameters.Init(new MlpConfig(NHidden: 16), new Generator(5)).Copy(requiresGrad: false);
        var train = LectureFixture.Split.Train;
        Assert.True(train.Count > 10 * LayerInference.Chunk);
        using var net = new Mlp(p);
        var bn = Inference.Calibrate(net, train);
        Assert.True(net.BatchNorm.RunningMean.eq(bn.Mean.ToTensor().view(-1)).all().item<bool>());
        Assert.True(net.BatchNorm.RunningVar.eq(bn.Var.ToTensor().view(-1)).all().item<bool>());

        var (X, Y) = train.ToTensors();
        var hpreact = p.b1.addmm(p.C.index_select(0, X.view(-1)).view(X.size(0), -1), p.W1).to_type(ScalarType.Float64);
        var bnmean = hpreact.mean([0], keepdim: true);
        var bnvar = hpreact.var(0, unbiased: true, keepdim: true);
        Assert.True(bn.Mean.ToTensor().to_type(ScalarType.Float64).allclose(bnmean, rtol: 1e-6, atol: 1e-7));
        Assert.True(bn.Var.ToTensor().to_type(ScalarType.Float64).allclose(bnvar, rtol: 1e-6, atol: 1e-7));

        // The lecture's split_loss, at once
        var h = tanh(p.bngain * (hpreact.to_type(ScalarType.Float32) - bn.Mean.ToTensor()) * (bn.Var.ToTensor() + 1e-5).pow(-0.5) + p.bnbias);
        double whole = F.cross_entropy(p.b2.addmm(h, p.W2), Y).item<float>();
        Assert.Equal(whole, new LayerInference(net, net.BlockSize).SplitLoss(train), 5);
    }

    /// <summary>The WaveNet's split loss runs <see cref="LayerInference.Chunk"/> rows at a time, the last chunk short, and
    /// trims the native heap between chunks; the reference is one eval-mode forward over every example at once, as the
    /// lecture's split_loss.</summary>
    [Fact]
    public void LayerInferenceLossInChunksEqualsTheWholeSplitComputation()
    {
        using var scope = NewDisposeScope();
        var names = Enumerable.Range(0, 1000).Select(i => new string([.. Enumerable.Range(0, 2 + i % 7).Select(k => (char)('a' + (i * 7 + k * 5) % 26))])).ToList();
        var split = new Examples(NameList.From(names), [.. Enumerable.Range(0, names.Count)], WaveNet.BlockSize);
        Assert.NotEqual(0, split.Count % LayerInference.Chunk);
        Assert.True(split.Count > 2 * LayerInference.TrimEvery * LayerInference.Chunk);
        var g = new Generator(3);
        using var model = WaveNet.Create(g, nHidden: 16);
        using (no_grad()) // running statistics other than 0 and 1, so eval mode is not the identity
            foreach (var bn in model.Layers.OfType<BatchNorm1d>()) { bn.RunningMean.uniform_(-0.5, 0.5, generator: g); bn.RunningVar.uniform_(0.5, 2, generator: g); }

        var (X, Y) = split.Slice(0, (int)split.Count);
        double whole = F.cross_entropy(model.Forward(X, ForwardMode.Eval), Y).item<float>();
        Assert.Equal(whole, new LayerInference(model, WaveNet.BlockSize).SplitLoss(split), 5);
    }
}
