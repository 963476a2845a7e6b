using ManualVsAuto.Backward;
using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using ManualVsAuto.Reporting;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>The fast manual step (<see cref="LoopStep"/>) against the readable references: the step-by-step chain
/// of <c>Backward/</c> on one batch (the autograd trainer over a few hundred steps is in <see cref="TrainingStepTests"/>).</summary>
public class LoopStepTests
{
    private static readonly ManualVsAuto.Data.Examples Train = LectureFixture.Split.Train;

    /// <summary>A million hidden units: the fused batchnorm backward's per-column terms live in the state, not on the
    /// stack (which they would overflow, ending the process), and its gradients still match autograd's (through the
    /// MLP's layers: at this width the chunked forward's softmax underflows). Not b1: its true gradient is 0, and at this
    /// width both sides' rounding noise (≈ 1e-5) exceeds the training tolerance's fixed 1e-6.</summary>
    [Fact]
    public void AVeryWideLayerStepsWithoutOverflowingTheStack()
    {
        using var scope = NewDisposeScope();
        var p = MlpParameters.Init(new MlpConfig(NEmbd: 1, BlockSize: 1, NHidden: 1_000_000), new Generator(1));
        using var trainer = new LoopStepTrainer(p);
        var rows = trainer.Verify(tensor(new long[] { 3, 5, 8, 1 }).view(4, 1), tensor(new long[] { 7, 0, 2, 9 }));
        Assert.Equal(7, rows.Count);
        Assert.All(rows.Where(r => r.Name != "b1"), r => Assert.True(r.Passed, SharedReportText.Detail(r)));
    }

    /// <summary>What the step computes on the lecture's batch against <see cref="StepByStepBackward"/>'s chain: the loss,
    /// the fused rows (dlogits, dhprebn) by allclose as the check report judges them, the 7 parameter gradients by
    /// the verifier's tolerance (b1's true gradient is 0, both sides are rounding noise). The biased-variance
    /// mistake fails the same comparison, so it is not vacuous.</summary>
    [DataTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void OneStepMatchesTheStepByStepChain(bool biasedVariance)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(MlpConfig.LectureSeed);
        var p = MlpParameters.Init(new MlpConfig(), g);
        var (Xb, Yb) = Minibatch.Draw(Train, 32, g);
        var f = StepByStepForward.Run(p, Xb, Yb, null);
        var chain = StepByStepBackward.Run(p, f, Xb, Yb).ToDictionary(m => m.Name, m => m.Grad);

        var q = p.Copy(requiresGrad: false);
        using var s = new LoopStepState(q, 32);
        float loss = LoopStep.Forward(q, s, LoopStep.Longs(Xb), LoopStep.Longs(Yb));
        if (biasedVariance) s.bnvar_inv.mul_(Math.Sqrt(32 / 31.0));
        LoopStep.Backward(q, s, LoopStep.Longs(Xb));

        Assert.Equal(f.loss.item<float>(), loss, 1e-6f);
        Assert.True(s.dlogits.allclose(chain["logits"]), "dlogits");
        var verdicts = s.Grads.Named.Select(x => Cmp.CompareValues(x.Name, x.Tensor, chain[x.Name], Tolerance.Training)).ToList();
        if (biasedVariance)
        {
            Assert.False(s.dhprebn.allclose(chain["hprebn"]));
            Assert.Contains(verdicts, v => !v.Passed && v.Name == "W1");
        }
        else
        {
            Assert.True(s.dhprebn.allclose(chain["hprebn"]), "dhprebn");
            Assert.All(verdicts, v => Assert.True(v.Passed, SharedReportText.Detail(v)));
        }
    }

    /// <summary>The step's tanh against double precision's, over [−12, 12] in steps of 1e-4 and tiny arguments, at most 2
    /// units in the last place apart (an ulp-distance of the float bit patterns); NaN, ±∞ and ±0 as tanh has them.</summary>
    [Fact]
    public void TanhIsWithinTwoUlpOfTheTrueValue()
    {
        var x = new List<float>();
        for (int i = -120_000; i <= 120_000; i++) x.Add(i * 1e-4f);
        for (int i = 0; i < 1500; i++) x.Add(MathF.Pow(2, -30 + i * 0.02f));
        var xs = x.ToArray();
        var ys = new float[xs.Length];
        LoopStep.Tanh(xs, ys);
        int worst = xs.Select((v, i) => Math.Abs(BitConverter.SingleToInt32Bits((float)Math.Tanh(v)) - BitConverter.SingleToInt32Bits(ys[i]))).Max();
        Assert.InRange(worst, 0, 2);

        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 20f, -20f];
        var t = new float[special.Length];
        LoopStep.Tanh(special, t);
        Assert.True(float.IsNaN(t[0]));
        Assert.Equal([1f, -1f, 0f, 1f, -1f], t[1..3].Concat(t[3..4]).Concat(t[5..]).ToArray());
        Assert.True(float.IsNegative(t[4]) && t[4] == 0f, "tanh(−0) = −0");
    }

    /// <summary>A length that is not a multiple of 8: the tail rounds as the same values do in a full vector.</summary>
    [Fact]
    public void TanhsTailRoundsAsTheVectorLanes()
    {
        float[] x = [0.3f, -0.49f, 0.51f, 2.5f, -7f, 0.01f, 1f, -0.75f, 0.3f, -0.49f, 0.51f];
        var y = new float[x.Length];
        LoopStep.Tanh(x, y);
        Assert.Equal(y[..3], y[8..]);
    }
}
