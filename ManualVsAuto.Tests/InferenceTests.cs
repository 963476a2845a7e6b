using ManualVsAuto.Model;
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
}
