using ManualVsAuto.Backward;
using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Tests;

public class FiniteDifferenceTests(ITestOutputHelper output)
{
    private static readonly FiniteDifferenceOptions FullMode = new() { Mode = FiniteDifferenceMode.Full };
    private static readonly FiniteDifferenceOptions FastMode = new() { Mode = FiniteDifferenceMode.Fast };

    public static TheoryData<FiniteDifferenceMode> Modes => [FiniteDifferenceMode.Full, FiniteDifferenceMode.Fast];

    private static FiniteDifferenceOptions In(FiniteDifferenceMode mode) => new() { Mode = mode };

    private static Tensor Randn(Generator g, params long[] shape) => randn(shape, dtype: ScalarType.Float64, generator: g);

    private static Dictionary<string, Tensor> Grads(params (string Name, Tensor Grad)[] grads) =>
        grads.ToDictionary(p => p.Name, p => p.Grad, StringComparer.Ordinal);

    private void AllPass(IReadOnlyList<NumericResult> results)
    {
        Assert.NotEmpty(results);
        foreach (var r in results) Log(r);
        foreach (var r in results) Assert.True(r.Passed, r.Summary);
    }

    private void Log(NumericResult r) => output.WriteLine(r.Summary);

    // ---- known functions -------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Modes))]
    public void SumOfSquares_GradientIs2x(FiniteDifferenceMode mode)
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(1), 3, 4);
        var r = FiniteDifference.Check(x, t => t.pow(2).sum(), 2 * x, In(mode));
        Assert.True(r.Passed, r.Summary);
        Assert.Equal(mode, r.Mode);
        Assert.Equal("x", r.Name);
        Assert.Equal(mode == FiniteDifferenceMode.Full ? 12 : 4, r.Checked);
        Assert.False(r.ConvertedToFloat64);
        Assert.Null(r.Note);
        Assert.True(r.WorstRatio <= 1);
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public void SinTimesY_BothInputs(FiniteDifferenceMode mode)
    {
        using var _ = NewDisposeScope();
        var g = new Generator(2);
        var x = Randn(g, 5, 3);
        var y = Randn(g, 5, 3);
        var results = FiniteDifference.Check(
            [("x", x), ("y", y)], t => (t[0].sin() * t[1]).sum(),
            Grads(("x", x.cos() * y), ("y", x.sin())), In(mode));
        Assert.Equal(new[] { "x", "y" }, results.Select(r => r.Name));
        AllPass(results);
    }

    /// <summary>Mean negative log-likelihood of softmax(X·W) with its analytic gradients (P − onehot)/n.</summary>
    [Theory]
    [MemberData(nameof(Modes))]
    public void MatmulSoftmaxLogLikelihood_AnalyticGradients(FiniteDifferenceMode mode)
    {
        using var _ = NewDisposeScope();
        var g = new Generator(3);
        var X = Randn(g, 6, 4);
        var W = Randn(g, 4, 5);
        var y = randint(0, 5, new long[] { 6 }, generator: g);
        long n = y.shape[0];

        Tensor Nll(IReadOnlyList<Tensor> t) => -F.log_softmax(t[0].matmul(t[1]), 1).index(arange(n), y).mean();

        var P = F.softmax(X.matmul(W), 1);
        var dlogits = (P - F.one_hot(y, 5).to_type(ScalarType.Float64)) / n;
        var results = FiniteDifference.Check(
            [("X", X), ("W", W)], Nll, Grads(("X", dlogits.matmul(W.t())), ("W", X.t().matmul(dlogits))), In(mode));
        AllPass(results);
    }

    // ---- wrong gradients fail ----------------------------------------------------------------------------------

    [Theory]
    [InlineData(FiniteDifferenceMode.Full, 1.1)]
    [InlineData(FiniteDifferenceMode.Fast, 1.1)]
    [InlineData(FiniteDifferenceMode.Full, -1.0)]
    [InlineData(FiniteDifferenceMode.Fast, -1.0)]
    public void ScaledOrSignFlippedGradient_Fails(FiniteDifferenceMode mode, double factor)
    {
        using var _ = NewDisposeScope();
        var g = new Generator(4);
        var x = Randn(g, 5, 3);
        var y = Randn(g, 5, 3);
        var results = FiniteDifference.Check(
            [("x", x), ("y", y)], t => (t[0].sin() * t[1]).sum(),
            Grads(("x", factor * x.cos() * y), ("y", x.sin())), In(mode));
        var rx = results.Single(r => r.Name == "x");
        Assert.False(rx.Passed, rx.Summary);
        Assert.True(rx.WorstRatio > 1);
        Assert.True(results.Single(r => r.Name == "y").Passed); // the other input is still right
    }

    [Fact]
    public void OneWrongElement_FullModeFailsAndPointsAtIt()
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(5), 3, 4);
        var manual = 2 * x;
        manual[1, 2] = manual[1, 2] + 0.05;
        var r = FiniteDifference.Check(x, t => t.pow(2).sum(), manual, FullMode);
        Assert.False(r.Passed, r.Summary);
        Assert.Equal(new long[] { 1, 2 }, r.WorstIndex!);
        Assert.Null(r.WorstDirection);
        Assert.Equal(0.05, r.WorstAbsDiff, 1e-6);
        Assert.Equal(2 * x[1, 2].item<double>(), r.NumericAtWorst, 1e-6);
        Assert.Equal(r.NumericAtWorst + 0.05, r.ManualAtWorst, 1e-6);
    }

    [Fact]
    public void OneWrongElement_FastModeAlsoSeesIt()
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(5), 3, 4);
        var manual = 2 * x;
        manual[1, 2] = manual[1, 2] + 0.05;
        var r = FiniteDifference.Check(x, t => t.pow(2).sum(), manual, FastMode);
        Assert.False(r.Passed, r.Summary);
        Assert.Null(r.WorstIndex);
        Assert.InRange(r.WorstDirection!.Value, 0, 3);
    }

    // ---- zero true gradient: the atol term ---------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Modes))]
    public void ZeroTrueGradient_PassesWithZero_FailsWithNoise(FiniteDifferenceMode mode)
    {
        using var _ = NewDisposeScope();
        var g = new Generator(6);
        var x = Randn(g, 4, 3);
        var ignored = Randn(g, 4, 3);
        Tensor Fn(IReadOnlyList<Tensor> t) => t[0].pow(2).sum(); // ignores t[1]
        IReadOnlyList<(string, Tensor)> inputs = [("x", x), ("ignored", ignored)];

        var ok = FiniteDifference.Check(inputs, Fn, Grads(("x", 2 * x), ("ignored", zeros_like(ignored))), In(mode));
        AllPass(ok);
        var zero = ok.Single(r => r.Name == "ignored");
        Assert.Equal(0.0, zero.NumericAtWorst);
        Assert.Equal(0.0, zero.MaxAbsDiff);

        var noise = 1e-2 * Randn(g, 4, 3);
        var bad = FiniteDifference.Check(inputs, Fn, Grads(("x", 2 * x), ("ignored", noise)), In(mode));
        var r = bad.Single(r => r.Name == "ignored");
        Assert.False(r.Passed, r.Summary);
        Assert.Equal(0.0, r.NumericAtWorst);
        Assert.True(bad.Single(r => r.Name == "x").Passed);
    }

    // ---- float32 inputs ----------------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(Modes))]
    public void Float32Input_IsCheckedOnAFloat64CopyAndSaysSo(FiniteDifferenceMode mode)
    {
        using var _ = NewDisposeScope();
        var x = randn(new long[] { 3, 4 }, generator: new Generator(7)); // float32
        var before = x.clone();
        var seen = new List<ScalarType>();
        var r = FiniteDifference.Check(x, t => { seen.Add(t.dtype); return t.pow(2).sum(); }, 2 * x, In(mode));
        Assert.True(r.Passed, r.Summary);
        Assert.True(r.ConvertedToFloat64);
        Assert.Contains("Float32", r.Note!);
        Assert.Contains("float64", r.Note!);
        Assert.All(seen, d => Assert.Equal(ScalarType.Float64, d));
        Assert.Equal(ScalarType.Float32, x.dtype);
        Assert.True(x.eq(before).all().item<bool>(), "the caller's tensor must not be modified");
    }

    [Fact]
    public void InputsAreNotModified_AndFSeesNoGrad()
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(8), 3, 3).requires_grad_(true);
        var before = x.detach().clone();
        bool anyGrad = false;
        var r = FiniteDifference.Check(x, t => { anyGrad |= t.requires_grad || is_grad_enabled(); return t.pow(3).sum(); },
            3 * x.detach().pow(2), FullMode);
        Assert.True(r.Passed, r.Summary);
        Assert.False(anyGrad);
        Assert.True(x.detach().eq(before).all().item<bool>());
        Assert.Null(x.grad);
    }

    // ---- sampling, determinism, errors ------------------------------------------------------------------------

    [Fact]
    public void FullMode_SamplesABoundedDeterministicSubset()
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(9), 20, 30);
        var wrong = 2 * x + 1e-3 * Randn(new Generator(10), 20, 30); // every element slightly off
        var sampled = FullMode with { MaxElementsPerInput = 64 };
        var a = FiniteDifference.Check(x, t => t.pow(2).sum(), wrong, sampled);
        var b = FiniteDifference.Check(x, t => t.pow(2).sum(), wrong, sampled);
        Assert.Equal(64, a.Checked);
        Assert.Equal(600, FiniteDifference.Check(x, t => t.pow(2).sum(), wrong, FullMode).Checked); // by default, every element
        Assert.Equal(a.WorstIndex!, b.WorstIndex!);
        Assert.Equal(a.WorstAbsDiff, b.WorstAbsDiff);
        var c = FiniteDifference.Check(x, t => t.pow(2).sum(), wrong, FullMode with { MaxElementsPerInput = 5 });
        Assert.Equal(5, c.Checked);
    }

    [Fact]
    public void FastMode_IsDeterministicFromTheSeed()
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(11), 6, 5);
        var wrong = 1.1 * 2 * x;
        var a = FiniteDifference.Check(x, t => t.pow(2).sum(), wrong, FastMode);
        var b = FiniteDifference.Check(x, t => t.pow(2).sum(), wrong, FastMode);
        var c = FiniteDifference.Check(x, t => t.pow(2).sum(), wrong, FastMode with { Seed = 99 });
        Assert.Equal(a.NumericAtWorst, b.NumericAtWorst);
        Assert.Equal(a.ManualAtWorst, b.ManualAtWorst);
        Assert.NotEqual(a.NumericAtWorst, c.NumericAtWorst);
        Assert.Equal(4, a.Checked);
    }

    [Fact]
    public void ShapeMismatch_NamesBothShapes()
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(12), 3);
        var ex = Assert.Throws<GradientCheckException>(() =>
            FiniteDifference.Check(x, t => t.pow(2).sum(), (2 * x).unsqueeze(1), FullMode));
        Assert.Contains("(3, 1)", ex.Message);
        Assert.Contains("(3)", ex.Message);
    }

    [Fact]
    public void Misuse_IsReported()
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(13), 3);
        Assert.Throws<GradientCheckException>(() =>
            FiniteDifference.Check([("x", x)], t => t[0].sum(), Grads(("typo", x)))); // names no input
        Assert.Throws<GradientCheckException>(() =>
            FiniteDifference.Check([("x", x), ("x", x)], t => t[0].sum(), Grads(("x", x)))); // duplicate
        Assert.Throws<GradientCheckException>(() =>
            FiniteDifference.Check(x, t => t * 2, x)); // not a scalar
        Assert.Throws<GradientCheckException>(() =>
            FiniteDifference.Check(x, t => t.sum().to_type(ScalarType.Float32), x)); // precision lost inside f
        var idx = arange(3);
        Assert.Throws<GradientCheckException>(() =>
            FiniteDifference.Check([("i", idx)], t => t[0].sum().to_type(ScalarType.Float64), Grads(("i", x)))); // int input
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            FiniteDifference.Check(x, t => t.sum(), ones_like(x), FullMode with { Eps = 0 }));
    }

    // ---- the lecture's MLP ------------------------------------------------------------------------------------

    /// <summary>The lecture's loss written with the same ops as StepByStepForward, on parameter tensors given in MlpParameters.Named order.</summary>
    /// <summary>The lecture's MLP at width 16 on a batch of 8, its forward and its manual gradients by name.</summary>
    private static (MlpParameters P, Tensor Xb, Tensor Yb, ForwardState F, Dictionary<string, Tensor> Manual) SmallMlp(ScalarType dtype)
    {
        var g = new Generator(MlpConfig.LectureSeed);
        var p = MlpParameters.Init(new MlpConfig(NHidden: 16), g, dtype);
        var Xb = randint(0, 27, new long[] { 8, 3 }, generator: g);
        var Yb = randint(0, 27, new long[] { 8 }, generator: g);
        var state = StepByStepForward.Run(p, Xb, Yb, new GradientCheck());
        return (p, Xb, Yb, state, StepByStepBackward.Run(p, state, Xb, Yb).ToDictionary(q => q.Name, q => q.Grad, StringComparer.Ordinal));
    }

    private static Tensor MlpLoss(IReadOnlyList<Tensor> p, Tensor Xb, Tensor Yb)
    {
        var (C, W1, b1, W2, b2, bngain, bnbias) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
        long n = Yb.shape[0];
        var emb = C.index(Xb);
        var embcat = emb.view(emb.shape[0], -1);
        var hprebn = embcat.matmul(W1) + b1;
        var bnmeani = (1.0 / n) * hprebn.sum(0, keepdim: true);
        var bndiff = hprebn - bnmeani;
        var bnvar = (1.0 / (n - 1)) * bndiff.pow(2).sum(0, keepdim: true);
        var bnraw = bndiff * (bnvar + StepByStepForward.BnEps).pow(-0.5);
        var h = tanh(bngain * bnraw + bnbias);
        var logits = h.matmul(W2) + b2;
        return F.cross_entropy(logits, Yb);
    }

    [Theory]
    [InlineData(FiniteDifferenceMode.Full, ScalarType.Float64)]
    [InlineData(FiniteDifferenceMode.Fast, ScalarType.Float64)]
    [InlineData(FiniteDifferenceMode.Full, ScalarType.Float32)]
    [InlineData(FiniteDifferenceMode.Fast, ScalarType.Float32)]
    public void LectureMlp_ChainBackwardMatchesFiniteDifferences(FiniteDifferenceMode mode, ScalarType dtype)
    {
        using var _ = NewDisposeScope();
        var (p, Xb, Yb, state, all) = SmallMlp(dtype);
        var manual = p.Named.ToDictionary(q => q.Name, q => all[q.Name], StringComparer.Ordinal);

        // Sanity: the test's loss is the chunked forward's loss.
        using (no_grad())
        {
            double ours = MlpLoss(p.All.Select(t => t.detach().to_type(ScalarType.Float64)).ToList(), Xb, Yb).item<double>();
            Assert.Equal(state.loss.to_type(ScalarType.Float64).item<double>(), ours, dtype == ScalarType.Float64 ? 1e-12 : 1e-5);
        }

        var results = FiniteDifference.Check(p.Named, t => MlpLoss(t, Xb, Yb), manual, In(mode));
        Assert.Equal(new[] { "C", "W1", "b1", "W2", "b2", "bngain", "bnbias" }, results.Select(r => r.Name));
        AllPass(results);
        Assert.All(results, r => Assert.Equal(dtype != ScalarType.Float64, r.ConvertedToFloat64));
        if (mode == FiniteDifferenceMode.Full)
            Assert.Equal(30 * 16, results.Single(r => r.Name == "W1").Checked); // every element
    }

    [Fact]
    public void LectureMlp_FullModeCatchesASingleWrongElement()
    {
        // One wrong element of W1 in 480: full mode checks every element, so it is caught, always, where it is.
        using var _ = NewDisposeScope();
        var (p, Xb, Yb, _, manual) = SmallMlp(ScalarType.Float64);
        var dW1 = manual["W1"].clone();
        dW1[3, 7] = dW1[3, 7] + 1e-2;
        long seen = 0;
        var r = FiniteDifference.Check([("W1", p.W1)], t => MlpLoss([p.C, t[0], p.b1, p.W2, p.b2, p.bngain, p.bnbias], Xb, Yb),
            Grads(("W1", dW1)), FullMode with { Progress = (name, done, total) => seen = done })[0];
        Log(r);
        Assert.False(r.Passed);
        Assert.Equal(new long[] { 3, 7 }, r.WorstIndex);
        Assert.Equal(480, r.Checked);
        Assert.Equal(480, seen); // progress reported up to the last element
    }

    [Fact]
    public void LectureMlp_WrongManualGradientIsCaught()
    {
        using var _ = NewDisposeScope();
        var (p, Xb, Yb, _, manual) = SmallMlp(ScalarType.Float64);
        var grads = p.Named.ToDictionary(q => q.Name, q => manual[q.Name], StringComparer.Ordinal);
        grads["b1"] = grads["b1"] + 1e-2; // b1's true gradient is ~0 under batchnorm: a classic to get wrong

        var results = FiniteDifference.CheckBoth(p.Named, t => MlpLoss(t, Xb, Yb), grads);
        foreach (var r in results) Log(r);
        Assert.Equal(14, results.Count);
        Assert.All(results, r => Assert.Equal(r.Name != "b1", r.Passed));
    }

    // ---- kinks ---------------------------------------------------------------------------------------------------

    [Fact]
    public void AbsAtZero_FailsByDefault_IsExcusedWithExcuseKinks()
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(30), 4, 5);
        x[1, 2] = 0.0;
        var manual = x.sign(); // abs's subgradient 0 at 0; the central difference there is 0 too, so use a one-sided value
        manual[1, 2] = 1.0;    // 1 lies between the one-sided slopes −1 and 1: a valid subgradient

        var strict = FiniteDifference.Check(x, t => t.abs().sum(), manual, FullMode);
        Log(strict);
        Assert.False(strict.Passed);
        Assert.Equal(new long[] { 1, 2 }, strict.WorstIndex);

        var excused = FiniteDifference.Check(x, t => t.abs().sum(), manual, FullMode with { ExcuseKinks = true });
        Log(excused);
        Assert.True(excused.Passed, excused.Summary);
        Assert.Equal(1, excused.Excused);
        Assert.Equal(new long[] { 1, 2 }, excused.FirstExcusedIndex);
    }

    [Fact]
    public void AtAKink_AValueOutsideTheOneSidedSlopes_IsNotExcused()
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(31), 4, 5);
        x[1, 2] = 0.0;
        var manual = x.sign();
        manual[1, 2] = 3.0; // outside [−1, 1]

        var r = FiniteDifference.Check(x, t => t.abs().sum(), manual, FullMode with { ExcuseKinks = true });
        Log(r);
        Assert.False(r.Passed);
        Assert.Equal(0, r.Excused);
    }

    // ---- custom autograd functions: the value of a third oracle ----------------------------------------------

    /// <summary>x³ with a hand-written backward that is wrong: 2x² instead of 3x².</summary>
    private sealed class WrongCube : autograd.SingleTensorFunction<WrongCube>
    {
        public override string Name => nameof(WrongCube);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            ctx.save_for_backward([x]);
            return x.pow(3);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var x = ctx.get_saved_variables()[0];
            return [grad_output * (2.0 * x.pow(2))]; // the bug: should be 3x²
        }
    }

    /// <summary>x³ with the right backward.</summary>
    private sealed class Cube : autograd.SingleTensorFunction<Cube>
    {
        public override string Name => nameof(Cube);

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            ctx.save_for_backward([x]);
            return x.pow(3);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            var x = ctx.get_saved_variables()[0];
            return [grad_output * (3.0 * x.pow(2))];
        }
    }

    private static GradientRow AutogradRow(Func<Tensor, Tensor> op, Tensor x0, Tensor manual)
    {
        var x = x0.detach().clone().requires_grad_(true);
        var check = new GradientCheck();
        check.Track("x", x);
        check.Backward(op(x).sum());
        return check.Compare("x", manual);
    }

    [Fact]
    public void WrongCustomBackward_AutogradAgreesButFiniteDifferencesCatchIt()
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(14), 4, 5);
        var handDerived = 2.0 * x.pow(2); // the same wrong derivation the backward encodes

        // (a) Autograd replays the custom backward, so it is its own reference: the wrong derivation matches exactly.
        var row = AutogradRow(t => WrongCube.apply(t), x, handDerived);
        Assert.True(row.Exact, $"maxdiff {row.MaxDiff}");

        // (b) Finite differences only run the forward (x³) and see 3x²: both modes reject 2x².
        foreach (var mode in new[] { FiniteDifferenceMode.Full, FiniteDifferenceMode.Fast })
        {
            var r = FiniteDifference.Check(x, t => WrongCube.apply(t).sum(), handDerived, In(mode));
            Log(r);
            Assert.False(r.Passed, r.Summary);
            // ...and accept the true derivative, which autograd would call wrong.
            var truth = FiniteDifference.Check(x, t => WrongCube.apply(t).sum(), 3.0 * x.pow(2), In(mode));
            Assert.True(truth.Passed, truth.Summary);
        }
        Assert.False(AutogradRow(t => WrongCube.apply(t), x, 3.0 * x.pow(2)).Approximate);
    }

    [Fact]
    public void CorrectCustomBackward_PassesBothOracles()
    {
        using var _ = NewDisposeScope();
        var x = Randn(new Generator(15), 4, 5);
        var handDerived = 3.0 * x.pow(2);

        var row = AutogradRow(t => Cube.apply(t), x, handDerived);
        Assert.True(row.Exact, $"maxdiff {row.MaxDiff}");
        AllPass(FiniteDifference.CheckBoth([("x", x)], t => Cube.apply(t[0]).sum(), Grads(("x", handDerived))));
    }
}
