using ManualVsAuto.Checking;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Tests;

/// <summary>
/// The one call <see cref="GradientCheck.Of"/> on the models of <see cref="StrangerModelTests"/> (the same data, the
/// same backward, the same planted mistakes), written as a function of named inputs and a backward that returns named
/// gradients: right, every row passes; with one planted mistake, the mistaken line is the only WRONG row; float64
/// inputs run the same model; bad use is a one-line <see cref="GradientCheckException"/>.
/// </summary>
public class OneCallCheckTests : IDisposable
{
    private readonly IDisposable scope = NewDisposeScope();

    public void Dispose() => scope.Dispose();

    private const long B = 3, T = 6, C = 8;

    // The attention block of StrangerModelTests.Attention in the one call.
    private static GradientCheck Attention(bool missingTranspose, ScalarType dtype = ScalarType.Float32, OneCallOptions? options = null, bool doubled = false)
    {
        var g = new Generator(7);
        var x = randn([B, T, C], generator: g).to_type(dtype);
        Tensor W() => (randn([C, C], generator: g) / Math.Sqrt(C)).to_type(dtype).requires_grad_();
        double s = 1 / Math.Sqrt(C);
        Tensor Flat(Tensor t) => t.reshape(-1, C);
        return GradientCheck.Of(new() { ["x"] = x, ["Wq"] = W(), ["Wk"] = W(), ["Wv"] = W(), ["Wo"] = W() }, m =>
        {
            m.Step("q", v => v("x").matmul(v("Wq"))); m.Step("k", v => v("x").matmul(v("Wk"))); m.Step("v", v => v("x").matmul(v("Wv")));
            m.Step("scores", v => v("q").matmul(v("k").transpose(-2, -1)) * s);
            m.Step("att", v => F.softmax(v("scores"), -1));
            m.Step("ctx", v => v("att").matmul(v("v")));
            var o = m.Step("o", v => v("ctx").matmul(v("Wo")));
            return (o * o).sum();
        }, v =>
        {
            var (dout, att) = (2 * v("o"), v("att"));
            var dctx = dout.matmul(v("Wo").t());
            var datt = dctx.matmul(v("v").transpose(-2, -1));
            var dv = missingTranspose ? att.matmul(dctx) : att.transpose(-2, -1).matmul(dctx) * (doubled ? 2 : 1);
            var dscores = att * (datt - (datt * att).sum(-1, keepdim: true));
            var (dq, dk) = (dscores.matmul(v("k")) * s, dscores.transpose(-2, -1).matmul(v("q")) * s);
            Tensor dW(Tensor d) => Flat(v("x")).t().matmul(Flat(d));
            return [("o", dout), ("Wo", Flat(v("ctx")).t().matmul(Flat(dout))), ("ctx", dctx), ("att", datt), ("v", dv),
                    ("scores", dscores), ("q", dq), ("k", dk), ("Wq", dW(dq)), ("Wk", dW(dk)), ("Wv", dW(dv))];
        }, options);
    }

    private const long N = 16, D = 10, K = 4;

    // The LayerNorm block of StrangerModelTests.LayerNorm in the one call.
    private static GradientCheck LayerNorm(bool batchForFeatures, ScalarType dtype = ScalarType.Float32, OneCallOptions? options = null)
    {
        var g = new Generator(11);
        Tensor P(Tensor t) => t.to_type(dtype).requires_grad_();
        var inputs = new Dictionary<string, Tensor> { ["x"] = P(randn([N, D], generator: g)), ["gamma"] = P(1 + 0.1 * randn([D], generator: g)),
            ["beta"] = P(0.1 * randn([D], generator: g)), ["W"] = P(randn([D, K], generator: g) / Math.Sqrt(D)),
            ["b"] = P(0.1 * randn([K], generator: g)), ["target"] = randn([N, K], generator: g).to_type(dtype) };
        const double eps = 1e-5;
        return GradientCheck.Of(inputs, m =>
        {
            m.Step("mu", v => v("x").mean([-1], keepdim: true));
            m.Step("xc", v => v("x") - v("mu"));
            m.Step("var", v => (v("xc") * v("xc")).mean([-1], keepdim: true));
            m.Step("rstd", v => (v("var") + eps).rsqrt());
            m.Step("xhat", v => v("xc") * v("rstd"));
            m.Step("y", v => v("xhat") * v("gamma") + v("beta"));
            m.Step("t", v => v("y").tanh());
            m.Step("o", v => v("t").matmul(v("W")) + v("b"));
            return m.Step("loss", v => (v("o") - v("target")).pow(2).mean());
        }, v =>
        {
            var (t, xc) = (v("t"), v("xc"));
            var dout = 2 * (v("o") - v("target")) / (N * K);
            var dt = dout.matmul(v("W").t());
            var dy = (1 - t * t) * dt;
            var dxhat = dy * v("gamma");
            var drstd = (dxhat * xc).sum(-1, keepdim: true);
            var dvar = drstd * -0.5 * (v("var") + eps).pow(-1.5);
            var dxc = dxhat * v("rstd") + 2 * xc * dvar / (batchForFeatures ? N : D);
            var dmu = -dxc.sum(-1, keepdim: true);
            return [("o", dout), ("W", t.t().matmul(dout)), ("b", dout.sum(0, keepdim: false)), ("t", dt), ("y", dy),
                    ("gamma", (dy * v("xhat")).sum(0, keepdim: false)), ("beta", dy.sum(0, keepdim: false)), ("xhat", dxhat),
                    ("rstd", drstd), ("var", dvar), ("xc", dxc), ("mu", dmu), ("x", dxc + dmu / D)];
        }, options);
    }

    private static string Rows(GradientCheck check) =>
        string.Join("; ", check.Rows.Select(r => $"{r.Name}: {r.VerdictText} {r.Evidence} {r.Hint}"));

    [Fact]
    public void TheAttentionBlockPassesEveryRowInBackwardOrderDecidedByTheFloat64Rerun()
    {
        var check = Attention(missingTranspose: false);
        Assert.Equal(["o", "Wo", "ctx", "att", "v", "scores", "q", "k", "Wq", "Wk", "Wv"], check.Rows.Select(r => r.Name));
        Assert.All(check.Rows, r => Assert.True(r.Passed, Rows(check)));
        Assert.Null(check.Float64RerunRefusal);
        Assert.Contains(check.Rows, r => r.Evidence?.StartsWith("float64 rerun:") == true);
        check.AssertAllClose();
        Assert.EndsWith(check.Summary + "\n", check.ToText());
    }

    [Fact]
    public void TheAttentionBlocksMissingTransposeIsTheOnlyWrongRow()
    {
        var check = Attention(missingTranspose: true);
        var wrong = check.Rows.Where(r => r.Verdict == Verdict.Wrong).ToList();
        Assert.True(wrong.Select(r => r.Name).SequenceEqual(["v"]), Rows(check));
        Assert.True(wrong[0].DecidedLocally);
        Assert.Equal("a missing transpose", wrong[0].Cause);
        Assert.Equal(["v"], check.Rows.Single(r => r.Name == "Wv").InheritsFrom);
        Assert.All(check.Rows.Where(r => r.Name is not ("v" or "Wv")), r => Assert.True(r.Passed, $"{r.Name}: {r.VerdictText}"));
        var e = Assert.Throws<GradientAssertionException>(check.AssertAllClose);
        Assert.Contains("WRONG here", e.Message);
    }

    [Fact]
    public void ANeighbouringMistakeAtTheSameProductIsNotCalledATranspose()
    {
        var v = Attention(missingTranspose: false, doubled: true).Rows.Single(r => r.Name == "v");
        Assert.Equal(Verdict.Wrong, v.Verdict);
        Assert.DoesNotContain("transpose", v.Hint);
        Assert.Contains("factor", v.Hint);
    }

    [Fact]
    public void TheLayerNormBlockPassesAndItsInputsPassFiniteDifferences()
    {
        var check = LayerNorm(batchForFeatures: false, options: new() { FiniteDifferences = new() });
        Assert.All(check.Rows, r => Assert.True(r.Passed, Rows(check)));
        var numeric = check.Rows.Where(r => r.Numeric is not null).Select(r => r.Name).ToList();
        Assert.Equal(["W", "b", "gamma", "beta", "x"], numeric);
        Assert.All(check.Rows, r => Assert.True(r.Numeric?.Passed ?? true, r.Numeric?.Summary));
    }

    [Fact]
    public void TheLayerNormBlocksWrongSizeIsTheOnlyWrongRowAndFiniteDifferencesFailX()
    {
        var check = LayerNorm(batchForFeatures: true, options: new() { FiniteDifferences = new() });
        var wrong = check.Rows.Where(r => r.Verdict == Verdict.Wrong).ToList();
        Assert.True(wrong.Select(r => r.Name).SequenceEqual(["xc"]), Rows(check));
        Assert.True(wrong[0].DecidedLocally);
        Assert.True(check.Rows.Single(r => r.Name == "mu").Passed);
        var x = check.Rows.Single(r => r.Name == "x");
        Assert.Equal(["xc"], x.InheritsFrom);
        Assert.False(x.Numeric!.Passed);
        // The parameters above the mistake are untouched by it, by autograd and by finite differences.
        Assert.All(check.Rows.Where(r => r.Name is "W" or "b" or "gamma" or "beta"), r => Assert.True(r.Passed && r.Numeric!.Passed, r.Name));
    }

    [Fact]
    public void Float64InputsRunTheSameModelAndItsMistake()
    {
        var right = LayerNorm(batchForFeatures: false, ScalarType.Float64);
        Assert.All(right.Rows, r => Assert.True(r.Passed, Rows(right)));
        var attention = Attention(missingTranspose: false, ScalarType.Float64);
        Assert.All(attention.Rows, r => Assert.True(r.Passed, Rows(attention)));
        var wrong = LayerNorm(batchForFeatures: true, ScalarType.Float64);
        Assert.True(wrong.Rows.Where(r => !r.Passed && r.Verdict == Verdict.Wrong).Select(r => r.Name).SequenceEqual(["xc"]), Rows(wrong));
    }

    [Fact]
    public void WithoutTheRerunTheReplayDecidesTheSameRows()
    {
        var check = Attention(missingTranspose: true, options: new() { RerunInFloat64 = false });
        Assert.Equal("switched off (RerunInFloat64 = false)", check.Float64RerunRefusal);
        Assert.Contains(check.Rows, r => r.Evidence?.StartsWith("float64 replay:") == true);
        Assert.DoesNotContain(check.Rows, r => r.Evidence?.StartsWith("float64 rerun:") == true);
        Assert.True(check.Rows.Where(r => r.Verdict == Verdict.Wrong).Select(r => r.Name).SequenceEqual(["v"]), Rows(check));
    }

    private sealed record Weights(Tensor W);

    [Fact]
    public void ABackwardReadingFloat32TensorsFromItsClosureIsRerunOnFloat64Copies()
    {
        // The backward reads W from a record and x from a list it captures, not from v: the rerun swaps them for
        // float64 copies (a float32 × float64 matmul would end the process).
        var g = new Generator(5);
        var (x, W) = (randn(6, 4, generator: g), randn(4, 3, generator: g).requires_grad_());
        var held = new Weights(W);
        var list = new List<Tensor> { x };
        var check = GradientCheck.Of(new() { ["x"] = x, ["W"] = W },
            m => m.Step("h", v => v("x").matmul(v("W"))).pow(2).sum(),
            v => [("h", 2 * v("h")), ("W", list[0].t().matmul(2 * v("x").matmul(held.W)))]);
        Assert.Null(check.Float64RerunRefusal);
        Assert.All(check.Rows, r => Assert.True(r.Passed, Rows(check)));
        Assert.Equal(ScalarType.Float32, held.W.dtype);
        Assert.Same(x, list[0]);
    }

    [Fact]
    public void TheCallersTensorsGetNoGradient()
    {
        var W = randn(3, 2).requires_grad_();
        var check = GradientCheck.Of(new() { ["W"] = W, ["x"] = ones(4, 3) },
            m => m.Step("h", v => v("x").mm(v("W"))).sum(),
            v => [("h", ones(4, 2)), ("W", v("x").t().mm(ones(4, 2)))]);
        check.AssertAllExact();
        Assert.Null(W.grad);
    }

    [Fact]
    public void ABackwardThatIsNotDtypeGenericIsDecidedByTheReplayAndSaysWhy()
    {
        // ones(…) is float32 whatever the inputs: on float64 inputs this backward returns a float32 gradient.
        var x = randn(5, 3, generator: new Generator(3));
        var check = GradientCheck.Of(new() { ["x"] = x, ["W"] = randn(3, 3, generator: new Generator(4)).requires_grad_() },
            m => m.Step("h", v => v("x").mm(v("W")).tanh()).sum(),
            v => [("h", ones(5, 3)), ("W", v("x").t().mm((1 - v("h").pow(2)) * ones(5, 3)))]);
        Assert.Contains("not dtype-generic", check.Float64RerunRefusal);
        Assert.All(check.Rows, r => Assert.True(r.Passed, Rows(check)));
    }

    private static GradientCheck Tiny(Func<Func<string, Tensor>, IEnumerable<(string, Tensor)>> backward) =>
        GradientCheck.Of(new() { ["W"] = randn(3, 2).requires_grad_(), ["x"] = ones(4, 3) },
            m => m.Step("h", v => v("x").mm(v("W"))).sum(), backward);

    [Fact]
    public void AParametersMissingGradientIsAClearError()
    {
        var e = Assert.Throws<GradientCheckException>(() => Tiny(v => [("h", ones(4, 2))]));
        Assert.Equal("the backward returned no gradient of 'W', an input that requires grad: return (\"W\", dW), or pass it without requires_grad to hold it constant.", e.Message);
        // Data (no requires_grad) may go without one.
        Tiny(v => [("h", ones(4, 2)), ("W", v("x").t().mm(ones(4, 2)))]).AssertAllExact();
    }

    [Fact]
    public void AnUnknownNameIsAClearError()
    {
        var returned = Assert.Throws<GradientCheckException>(() => Tiny(v => [("hh", ones(4, 2)), ("W", zeros(3, 2))]));
        Assert.Equal("the backward returned a gradient of 'hh', which is neither an input nor a step of the forward; they are: W, x, h.", returned.Message);
        var read = Assert.Throws<GradientCheckException>(() => Tiny(v => [("W", v("dh"))]));
        Assert.Equal("the backward read 'dh', which is neither an input nor a step of the forward; they are: W, x, h.", read.Message);
        var twice = Assert.Throws<GradientCheckException>(() => Tiny(v => [("W", zeros(3, 2)), ("W", zeros(3, 2))]));
        Assert.Equal("the backward returned a gradient of 'W' twice.", twice.Message);
    }

    [Fact]
    public void BadInputsAndLossesAreClearErrors()
    {
        Assert.Contains("not floating point", Assert.Throws<GradientCheckException>(() =>
            GradientCheck.Of(new() { ["y"] = arange(3) }, m => m.Step("h", v => v("y")), v => [])).Message);
        Assert.Contains("return the scalar loss", Assert.Throws<GradientCheckException>(() =>
            GradientCheck.Of(new() { ["W"] = ones(2).requires_grad_() }, m => m.Step("h", v => v("W") * 2), v => [])).Message);
        Assert.Contains("got none", Assert.Throws<GradientCheckException>(() => GradientCheck.Of(new(), m => ones(1), v => [])).Message);
        Assert.StartsWith("the inputs mix dtypes (W Float32, x Float64)", Assert.Throws<GradientCheckException>(() =>
            GradientCheck.Of(new() { ["W"] = ones(3, 2).requires_grad_(), ["x"] = ones(4, 3, dtype: ScalarType.Float64) },
                m => m.Step("h", v => v("x").mm(v("W"))).sum(), v => [])).Message);
        Assert.StartsWith("OneCallOptions.Approximate names 'hh'", Assert.Throws<GradientCheckException>(() =>
            GradientCheck.Of(new() { ["W"] = ones(3, 2).requires_grad_(), ["x"] = ones(4, 3) }, m => m.Step("h", v => v("x").mm(v("W"))).sum(),
                v => [("W", v("x").t().mm(ones(4, 2)))], new() { Approximate = ["hh"] })).Message);
        Assert.StartsWith("the backward threw", Assert.Throws<GradientCheckException>(() =>
            Tiny(v => [("W", v("x").mm(ones(5, 5)))])).Message);
    }
}
