using ManualVsAuto.Backward;
using ManualVsAuto.Model;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>The fast manual step (<see cref="ManualStep"/>) against the readable references: the step-by-step chain
/// of <c>Backward/</c> on one batch, and the autograd trainer over a few hundred steps.</summary>
public class ManualStepTests
{
    private static readonly ManualVsAuto.Data.Examples Train = LectureFixture.Split.Train;

    /// <summary>What the step computes on the lecture's batch against <see cref="ManualBackward"/>'s chain: the loss,
    /// the fused rows (dlogits, dhprebn) by allclose as the check report judges them, the 7 parameter gradients by
    /// the verifier's tolerance (b1's true gradient is 0, both sides are rounding noise). The biased-variance
    /// mistake fails the same comparison, so it is not vacuous.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OneStepMatchesTheStepByStepChain(bool biasedVariance)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(MlpConfig.LectureSeed);
        var p = MlpParameters.Init(new MlpConfig(), g);
        var (Xb, Yb) = Minibatch.Sample(Train, 32, g);
        var f = ChunkedForward.Run(p, Xb, Yb, null);
        var chain = ManualBackward.Run(p, f, Xb, Yb).ToDictionary(m => m.Name, m => m.Grad);

        var q = p.Copy(requiresGrad: false);
        using var s = new ManualStepState(q, 32);
        float loss = ManualStep.Forward(q, s, ManualStep.Longs(Xb), ManualStep.Longs(Yb));
        if (biasedVariance) s.bnvar_inv.mul_(Math.Sqrt(32 / 31.0));
        ManualStep.Backward(q, s, ManualStep.Longs(Xb));

        Assert.Equal(f.loss.item<float>(), loss, 1e-6f);
        Assert.True(s.dlogits.allclose(chain["logits"]), "dlogits");
        var verdicts = s.Grads.Named.Select(x => GradientVerifier.Judge(x.Name, x.Tensor, chain[x.Name])).ToList();
        if (biasedVariance)
        {
            Assert.False(s.dhprebn.allclose(chain["hprebn"]));
            Assert.Contains(verdicts, v => !v.Ok && v.Name == "W1");
        }
        else
        {
            Assert.True(s.dhprebn.allclose(chain["hprebn"]), "dhprebn");
            Assert.All(verdicts, v => Assert.True(v.Ok, GradientVerifier.Describe(v)));
        }
    }

    /// <summary>
    /// 300 steps from the same init on the same minibatches, manual step against the autograd trainer. The two
    /// round differently and the difference compounds; measured over 300 steps: parameters within 4.6e-7 of their
    /// largest magnitude (W2), losses within 4.8e-7. The bounds (1e-5 each) keep a margin of 20; a wrong gradient
    /// moves a parameter by ~lr·|grad| ≈ 1e-3 in a single step.
    /// </summary>
    [Fact]
    public void ThreeHundredStepsTrackTheAutogradTrainer()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(MlpConfig.LectureSeed);
        var p = MlpParameters.Init(new MlpConfig(NHidden: 200), g);
        using var state = g.get_state();
        var gm = new Generator(1);
        gm.set_state(state);
        var ga = new Generator(2);
        ga.set_state(state);
        using var manual = new ManualTrainer(p.Copy(requiresGrad: false));
        using var autograd = new AutogradTrainer(p.Copy(requiresGrad: true));
        double worstLoss = 0;
        for (int i = 0; i < 300; i++)
        {
            using var step = NewDisposeScope();
            var (xm, ym) = Minibatch.Sample(Train, 32, gm);
            var (xa, ya) = Minibatch.Sample(Train, 32, ga);
            float lm = manual.Step(xm, ym, 0.1).item<float>();
            float la = autograd.Step(xa, ya, 0.1).item<float>();
            worstLoss = Math.Max(worstLoss, Math.Abs(lm - la));
        }
        Assert.True(worstLoss <= 1e-5, $"loss differs by {worstLoss:e2}");
        foreach (var ((name, m), (_, a), (_, p0)) in manual.Parameters.Named.Zip(autograd.Parameters.Named, p.Named))
        {
            double diff = (m - a).abs().max().item<float>();
            double scale = a.abs().max().item<float>();
            double moved = (a - p0).abs().max().item<float>();
            Assert.True(diff <= 1e-5 * scale, $"{name}: max |manual − autograd| = {diff:e2} > 1e-5·{scale:F2}");
            if (name != "b1") Assert.True(moved > 100 * diff, $"{name} barely trained: moved {moved:e2}");
        }
    }
}
