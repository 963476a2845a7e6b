using ManualVsAuto.Backward;
using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using ManualVsAuto.Reporting;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>Exercise 4's step: manual and autograd agree, the verification passes correct runs and catches a broken backward.</summary>
public class TrainingStepTests
{
    private static readonly ManualVsAuto.Data.Examples Train = LectureFixture.Split.Train;

    /// <summary>
    /// Same init, same minibatches (two generators in the same state), a few hundred SGD steps each way: the manual
    /// step (<see cref="LoopStep"/>) against the autograd trainer (through the MLP's layers). The two round differently (fused formulas in C#
    /// loops vs autograd's chain of libtorch ops) and the difference compounds; measured: losses within 4.8e-7 at every step, parameters within 1.7e-7 (50 steps,
    /// n_hidden 64) and 3.9e-7 (300 steps, n_hidden 200) of their largest magnitude. The bounds,
    /// 1e-5 of each parameter's largest magnitude and 1e-5 on every step's loss, keep a margin of 20; a wrong
    /// gradient moves a parameter by ~lr·|grad| ≈ 1e-3 in a single step, 100x beyond it.
    /// </summary>
    /// <para>The same holds for the MLP's layer chain on the layers' own backward (<see cref="ManualLayerTrainer"/> on the
    /// <see cref="Mlp"/>), measured within 3.3e-7 of each parameter's largest magnitude after 300 steps.</para>
    [DataTheory]
    [InlineData(64, 50, false)]
    [InlineData(200, 300, false)]
    [InlineData(200, 300, true)]
    public void ManualAndAutogradTrainingReachTheSameParameters(int hidden, int steps, bool layerChain)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(MlpConfig.LectureSeed);
        var p = MlpParameters.Init(new MlpConfig(NHidden: hidden), g);
        using var state = g.get_state();
        var gm = new Generator(1);
        gm.set_state(state);
        var ga = new Generator(2);
        ga.set_state(state);
        using IModelTrainer manual = layerChain ? new ManualLayerTrainer(new Mlp(p.Copy(requiresGrad: false))) : new LoopStepTrainer(p.Copy(requiresGrad: false));
        using var autograd = new AutogradLayerTrainer(new Mlp(p.Copy(requiresGrad: false)));
        double worstLoss = 0;
        for (int i = 0; i < steps; i++)
        {
            using var step = NewDisposeScope();
            var (xm, ym) = Minibatch.Draw(Train, 32, gm);
            var (xa, ya) = Minibatch.Draw(Train, 32, ga);
            Assert.True(xm.eq(xa).all().item<bool>());
            float lm = manual.Step(xm, ym, 0.1).item<float>();
            float la = autograd.Step(xa, ya, 0.1).item<float>();
            worstLoss = Math.Max(worstLoss, Math.Abs(lm - la));
        }
        Assert.True(worstLoss <= 1e-5, $"the losses differ by up to {worstLoss:e2}");
        foreach (var ((name, m), (_, a), (_, p0)) in manual.State.Zip(autograd.State, p.Named))
        {
            double diff = (m - a).abs().max().item<float>();
            double scale = a.abs().max().item<float>();
            double moved = (a - p0).abs().max().item<float>();
            Assert.True(diff <= 1e-5 * scale, $"{name}: max |manual − autograd| = {diff:e2} > 1e-5·{scale:F2} ({diff / scale:e1} of it)");
            if (name != "b1") Assert.True(moved > 100 * diff, $"{name} barely trained: moved {moved:e2}"); // the comparison is not vacuous
        }
    }

    /// <summary>
    /// 300 real minibatches of training: every verification passes at the training tolerance, with check's rows in
    /// backward order; torch's allclose (check's tolerance) would have failed some of them (b1 is rounding noise,
    /// and small elements of the fused gradients differ by more than 1e-5 of themselves).
    /// </summary>
    [DataFact]
    public void VerificationPassesCorrectStepsWhereDefaultAllcloseIsNotReliable()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(MlpConfig.LectureSeed);
        using var trainer = new LoopStepTrainer(MlpParameters.Init(new MlpConfig(NHidden: 200), g));
        int allcloseFails = 0;
        for (int i = 0; i < 300; i++)
        {
            using var step = NewDisposeScope();
            var (Xb, Yb) = Minibatch.Draw(Train, 32, g);
            var rows = GradientVerifier.Verify(trainer, Xb, Yb);
            Assert.Equal(["b2", "W2", "bnbias", "bngain", "b1", "W1", "C"], rows.Select(r => r.Name));
            Assert.All(rows, r => Assert.True(r.Passed, SharedReportText.Detail(r)));
            Assert.All(rows, r => Assert.Same(Tolerance.Training, r.Tolerance));
            // allclose's rule broken at the worst element
            if (rows.Any(r => r.MaxDiff > Cmp.DefaultAtol + Cmp.DefaultRtol * Math.Abs(r.ReferenceAtWorst))) allcloseFails++;
            trainer.Step(Xb, Yb, 0.1);
        }
        Assert.True(allcloseFails > 0, "allclose never failed: the training tolerance would not be needed");
    }

    [DataFact]
    public void GradientsChangeNothingAndStepUpdatesInPlace()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(MlpConfig.LectureSeed);
        var p = MlpParameters.Init(new MlpConfig(NHidden: 16), g);
        using var trainer = new LoopStepTrainer(p);
        var before = p.Copy(requiresGrad: false);
        var (Xb, Yb) = Minibatch.Draw(Train, 32, g);
        var grads = trainer.Gradients(Xb, Yb);
        Assert.All(p.All.Zip(before.All), x => Assert.True(x.First.eq(x.Second).all().item<bool>()));
        var loss = trainer.Step(Xb, Yb, 0.1);
        Assert.False(loss.requires_grad);
        Assert.Empty(loss.shape);
        // p_new = p_old − lr·grad, up to the rounding of the fused update
        foreach (var ((name, now), (_, was), (_, grad)) in p.Named.Zip(before.Named, grads.Named))
            Assert.True((now - (was - 0.1 * grad)).abs().max().item<float>() < 1e-6, name);
        Assert.DoesNotContain(p.All, t => t.requires_grad);
    }

    [DataFact]
    public void BrokenBackwardIsCaughtNamingTheStepAndTheParameter()
    {
        // A classic mistake: the batchnorm backward with the biased variance (1/n) while the forward uses 1/(n−1),
        // about a 1.6% error on the gradients below batchnorm (W1, C).
        BackwardPass broken = (p, s, Xb) =>
        {
            s.bnvar_inv.mul_(Math.Sqrt(s.N / (s.N - 1.0)));
            LoopStep.Backward(p, s, Xb);
        };
        var settings = new TrainingSettings(Steps: 30, NHidden: 32);
        using var run = TrainingRun.Start(settings, TrainingRunFactory.DataSha);
        using var brokenRun = TrainingRunFactory.WithTrainer(settings, p => new LoopStepTrainer(p, broken));
        var result = TrainingLoop.Run(brokenRun, Train, new LoopOptions(null, VerifyEvery: 10), new RecordingReporter(), _ => false);
        Assert.Equal(TrainingEnd.VerificationFailed, result.End);
        Assert.Equal(0, result.Step);
        // check's rows: one line per failing parameter, in backward order, the first with the verdict and the hint.
        var lines = result.Message!.Split('\n');
        Assert.StartsWith("gradient verification failed at step 0: 2 of the 7 manual parameter gradients", lines[0]);
        Assert.Contains(Tolerance.Training.Text, lines[0]);
        Assert.Equal(3, lines.Length);
        Assert.StartsWith("  W1: WRONG (likely origin): worst at", lines[1]);
        Assert.Contains("hint: off by a constant factor", lines[1]);
        Assert.StartsWith("  C: may inherit ← upstream: worst at", lines[2]);
        Assert.DoesNotContain("accumulates", result.Message); // a wrong formula, not a stateful backward

        var ok = TrainingLoop.Run(run, Train, new LoopOptions(null, VerifyEvery: 10), new RecordingReporter(), _ => false);
        Assert.Equal(TrainingEnd.Completed, ok.End);
    }

    /// <summary>
    /// --verify-every on a planted backward that keeps its gradients from call to call (never zeroed): right at step 0,
    /// where nothing has accumulated yet, then caught and named as accumulating, because a second call on the same
    /// minibatch gives another gradient.
    /// </summary>
    [DataFact]
    public void AnAccumulatingBackwardIsNamedByVerifyEvery()
    {
        MlpParameters? kept = null;
        BackwardPass accumulating = (p, s, Xb) =>
        {
            LoopStep.Backward(p, s, Xb);
            if (kept is null) { kept = s.Grads.Map(t => t.detach().clone().DetachFromDisposeScope()); return; }
            foreach (var (sum, g) in kept.All.Zip(s.Grads.All)) { sum.add_(g); g.copy_(sum); }
        };
        var settings = new TrainingSettings(Steps: 30, NHidden: 32);
        using var run = TrainingRunFactory.WithTrainer(settings, p => new LoopStepTrainer(p, accumulating));
        var result = TrainingLoop.Run(run, Train, new LoopOptions(null, VerifyEvery: 10), new RecordingReporter(), _ => false);
        Assert.Equal(TrainingEnd.VerificationFailed, result.End);
        Assert.Equal(10, result.Step);
        Assert.Contains("changes from one call to the next on the same minibatch: your backward accumulates gradients across steps", result.Message);
        Assert.Contains("PyTorch and TorchSharp accumulate them (+=)", result.Message);
    }

    /// <summary>
    /// --verify-every on planted backwards that keep one consumer's share only (= where += adds the second path):
    /// dhprebn without bnmeani's path (found at b1, the first in backward order that it reaches), and dC written with
    /// an assignment that keeps one read's share of a row read twice; each named as such, and a wrong factor in
    /// dhprebn (the neighbour) is not.
    /// </summary>
    [DataTheory]
    [InlineData("hprebn without bnmeani", "b1: WRONG (likely origin)", "hint: db1 is autograd's without the path through bnmeani: hprebn is used twice (by bnmeani and bndiff), and dhprebn got one consumer's share only — add the gradients of both uses (+=, not =).")]
    [InlineData("C overwritten", "C: WRONG (likely origin)", "a scatter that overwrote (index_put_, assignment) instead of accumulating (index_add_, +=)")]
    [InlineData("hprebn scaled", "W1: WRONG (likely origin)", null)] // db1 = 1.5 · (≈ 0) still passes
    public void OneConsumersShareIsNamedByVerifyEvery(string planted, string origin, string? hint)
    {
        BackwardPass backward = (p, s, Xb) =>
        {
            LoopStep.Backward(p, s, Xb);
            var x = tensor(Xb.ToArray());
            using var scope = NewDisposeScope();
            if (planted == "C overwritten")
            {
                var rows = s.dembcat.view(-1, p.C.shape[1]);
                s.Grads.C.copy_(zeros_like(p.C).index_put_(rows, x));
                return;
            }
            var dhprebn = planted == "hprebn scaled"
                ? s.dhprebn * 1.5
                : s.dhprebn + p.bngain * s.bnvar_inv * s.dhpreact.mean([0], keepdim: true); // dbndiff, not dbndiff + dbnmeani / n
            s.Grads.W1.copy_(s.embcat.t().mm(dhprebn));
            s.Grads.b1.copy_(dhprebn.sum(0, keepdim: false));
            var dembcat = dhprebn.mm(p.W1.t());
            s.Grads.C.copy_(zeros_like(p.C).index_add_(0, x, dembcat.view(-1, p.C.shape[1]), 1.0));
        };
        var settings = new TrainingSettings(Steps: 5, NHidden: 32);
        using var run = TrainingRunFactory.WithTrainer(settings, p => new LoopStepTrainer(p, backward));
        var result = TrainingLoop.Run(run, Train, new LoopOptions(null, VerifyEvery: 1), new RecordingReporter(), _ => false);
        Assert.Equal(TrainingEnd.VerificationFailed, result.End);
        var line = result.Message!.Split('\n').Single(l => l.StartsWith("  " + origin, StringComparison.Ordinal));
        if (hint is null) Assert.DoesNotContain("share only", result.Message);
        else Assert.Contains(hint, line);
    }

    /// <summary>The MLP's rows come in backward order (b2, W2, bnbias, bngain, b1, W1, C): a mistake at the top of the
    /// backward (every gradient scaled, as a dlogits off by a factor would) is found at b2, not at bnbias.</summary>
    [DataFact]
    public void VerificationListsTheMlpsParametersInBackwardOrder()
    {
        BackwardPass scaled = (p, s, Xb) =>
        {
            LoopStep.Backward(p, s, Xb);
            foreach (var g in s.Grads.All) g.mul_(1.5);
        };
        var g = new Generator(MlpConfig.LectureSeed);
        using var trainer = new LoopStepTrainer(MlpParameters.Init(new MlpConfig(NHidden: 32), g), scaled);
        var (Xb, Yb) = Minibatch.Draw(Train, 32, g);
        var rows = trainer.Verify(Xb, Yb);
        Assert.Equal(["b2", "W2", "bnbias", "bngain", "b1", "W1", "C"], rows.Select(r => r.Name));
        Assert.Equal(Verdict.Wrong, rows[0].Verdict);
        Assert.Contains("constant factor", rows[0].Hint);
        Assert.All(rows.Skip(1).Where(r => !r.Passed), r => Assert.Equal(Verdict.Inherits, r.Verdict));
    }

    [DataFact]
    public void VerificationIsOffThePathTrainingIsBitwiseTheSameWithIt()
    {
        var settings = new TrainingSettings(Steps: 60, NHidden: 24);
        using var plain = TrainingRun.Start(settings, TrainingRunFactory.DataSha);
        using var verified = TrainingRun.Start(settings, TrainingRunFactory.DataSha);
        var reporter = new RecordingReporter();
        Assert.Equal(TrainingEnd.Completed, TrainingLoop.Run(plain, Train, new LoopOptions(null), new RecordingReporter(), _ => false).End);
        Assert.Equal(TrainingEnd.Completed, TrainingLoop.Run(verified, Train, new LoopOptions(null, VerifyEvery: 7), reporter, _ => false).End);
        Assert.Equal(9, reporter.Notes.Count(n => n.Contains("match autograd")));
        TrainingAssert.BitwiseEqual(plain.Parameters, verified.Parameters);
        Assert.Equal(plain.Losses(), verified.Losses());
    }

    [Fact]
    public void LectureScheduleDecaysTheLearningRateTenfold()
    {
        var s = new TrainingSettings();
        Assert.Equal(0.1, s.LearningRateAt(0));
        Assert.Equal(0.1, s.LearningRateAt(99_999));
        Assert.Equal(0.01, s.LearningRateAt(100_000), 15);
        using var scope = NewDisposeScope();
        Assert.Equal(12_297, MlpParameters.Init(s.Config, new Generator(1)).Count); // the lecture's count for n_hidden 200
    }

    [DataFact]
    public void DivergenceStopsAtTheFirstNonFiniteStep()
    {
        // With batchnorm the loss stays finite (if absurd, ~1e7) up to lr ≈ 1e15; 1e20 overflows float32 within a few steps.
        var settings = new TrainingSettings(Steps: 500, NHidden: 16, Lr: 1e20);
        using var run = TrainingRun.Start(settings, TrainingRunFactory.DataSha);
        var result = TrainingLoop.Run(run, Train, new LoopOptions(null), new RecordingReporter(), _ => false);
        Assert.Equal(TrainingEnd.Diverged, result.End);
        var losses = run.Losses();
        Assert.True(float.IsFinite(losses[0]));
        Assert.InRange(result.Step, 1, 100);
        Assert.False(float.IsFinite(losses[result.Step]));
        Assert.All(losses.Take(result.Step), l => Assert.True(float.IsFinite(l)));
        Assert.Contains($"step {result.Step}", result.Message);
    }
}
