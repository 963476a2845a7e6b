using ManualVsAuto.Checking;
using ManualVsAuto.Reporting;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Tests;

/// <summary>
/// Which op rounds differently (<see cref="GradientRow.Rounding"/>): a right row that is not exact names the step
/// whose local backward rounds differently from autograd's and the form that would be exact, or says its own line
/// is exact and the rounding comes from upstream. The LayerNorm → tanh → Linear → MSE block, written with the naive
/// forms, has every row exact or explained; written with the forms named, every row is exact. Each named form is
/// checked here by writing it and comparing with autograd bitwise, not by trusting the text.
/// </summary>
public class RoundingFormTests : IDisposable
{
    private readonly IDisposable scope = NewDisposeScope();

    public void Dispose() => scope.Dispose();

    private const long N = 16, D = 10, K = 4;

    /// <summary>
    /// LayerNorm (its decomposition, eps 1e-5) → tanh → Linear → MSE, the loss recorded as steps; the backward by hand
    /// in the naive forms, or (<paramref name="exactForms"/>) in the forms autograd uses; <paramref name="batchForFeatures"/>
    /// plants the variance's 1/N for 1/D.
    /// </summary>
    private static GradientCheck LayerNorm(bool exactForms, bool batchForFeatures = false)
    {
        var g = new Generator(11);
        var x = randn([N, D], generator: g).requires_grad_();
        var gamma = (1 + 0.1 * randn([D], generator: g)).requires_grad_();
        var beta = (0.1 * randn([D], generator: g)).requires_grad_();
        var W = (randn([D, K], generator: g) / Math.Sqrt(D)).requires_grad_();
        var b = (0.1 * randn([K], generator: g)).requires_grad_();
        var target = randn([N, K], generator: g);
        const double eps = 1e-5;

        var check = new GradientCheck();
        check.Step("x", _ => x); check.Step("gamma", _ => gamma); check.Step("beta", _ => beta);
        check.Step("W", _ => W); check.Step("b", _ => b);
        var mu = check.Step("mu", v => v("x").mean([-1], keepdim: true));
        var xc = check.Step("xc", v => v("x") - v("mu"));
        var var_ = check.Step("var", v => (v("xc") * v("xc")).mean([-1], keepdim: true));
        var rstd = check.Step("rstd", v => (v("var") + eps).rsqrt());
        var xhat = check.Step("xhat", v => v("xc") * v("rstd"));
        var y = check.Step("y", v => v("xhat") * v("gamma") + v("beta"));
        var t = check.Step("t", v => v("y").tanh());
        var o = check.Step("o", v => v("t").matmul(v("W")) + v("b"));
        var diff = check.Step("diff", v => v("o") - target);
        var loss = check.Step("loss", v => (v("diff") * v("diff")).mean());
        check.Backward(loss);

        using (no_grad())
        {
            var dloss = ones_like(loss);
            var ddiff = exactForms ? (dloss / diff.numel()).expand_as(diff) * diff * 2 : 2 * diff / diff.numel();
            var dout = ddiff;
            var dW = t.t().matmul(dout);
            var db = dout.sum(0, keepdim: false);
            var dt = dout.matmul(W.t());
            var dy = exactForms ? ones_like(t).addcmul(t, t, value: -1) * dt : (1 - t * t) * dt;
            var dgamma = (dy * xhat).sum(0, keepdim: false);
            var dbeta = dy.sum(0, keepdim: false);
            var dxhat = dy * gamma;
            var drstd = (dxhat * xc).sum(-1, keepdim: true);
            var dvar = exactForms ? -0.5 * drstd * rstd.pow(3) : drstd * -0.5 * (var_ + eps).pow(-1.5);
            long n = batchForFeatures ? N : D;
            var dxc = exactForms ? XcExact(dxhat * rstd, (dvar / n).expand_as(xc) * xc) : dxhat * rstd + 2 * xc * dvar / n;
            var dmu = -dxc.sum(-1, keepdim: true);
            var dx = dxc + dmu / D;
            check.Compare("diff", ddiff);
            check.Compare("o", dout);
            check.Compare("W", dW);
            check.Compare("b", db);
            check.Compare("t", dt);
            check.Compare("y", dy);
            check.Compare("gamma", dgamma);
            check.Compare("beta", dbeta);
            check.Compare("xhat", dxhat);
            check.Compare("rstd", drstd);
            check.Compare("var", dvar);
            check.Compare("xc", dxc);
            check.Compare("mu", dmu);
            check.Compare("x", dx);
        }
        return check;
    }

    /// <summary>
    /// xc's exact line: autograd adds a term per use as its graph delivers them — through xhat first, then the
    /// square's two uses of xc one at a time (float addition is not associative: <c>a + 2·b</c> rounds differently).
    /// </summary>
    private static Tensor XcExact(Tensor throughXhat, Tensor perUseOfTheSquare) => throughXhat + perUseOfTheSquare + perUseOfTheSquare;

    private static string Describe(GradientCheck check) =>
        string.Join("\n", check.Rows.Select(r => $"{r.Name}: {r.VerdictText} · {r.Rounding}"));

    [Fact]
    public void TheNaiveLayerNormBlockHasEveryRowExactOrExplained()
    {
        var check = LayerNorm(exactForms: false);
        Assert.All(check.Rows, r => Assert.True(r.Passed, Describe(check)));
        Assert.Contains(check.Rows, r => !r.Exact); // the naive forms do round differently
        Assert.All(check.Rows.Where(r => !r.Exact), r => Assert.False(string.IsNullOrEmpty(r.Rounding), Describe(check)));
        Assert.All(check.Rows.Where(r => r.Exact), r => Assert.Null(r.Rounding));

        // Each naive line names its own op and the exact form; the rows below it only inherit the rounding.
        string Of(string name) => check.Rows.Single(r => r.Name == name).Rounding ?? "";
        void Has(string name, string text) => Assert.True(Of(name).Contains(text, StringComparison.Ordinal), $"{name} lacks '{text}':\n{Describe(check)}");
        Has("y", "tanh (step t) rounds differently");
        Has("y", "addcmul");
        if (!check.Rows.Single(r => r.Name == "diff").Exact) Has("diff", "the mean of a square (x*x or x.pow(2), then mean) (step loss) rounds differently");
        Has("var", "rsqrt (step rstd) rounds differently");
        Has("var", "-0.5 * drstd * rstd.pow(3)");
        Has("xc", "through var, the mean of a square");
        foreach (var name in new[] { "o", "W", "t", "gamma", "xhat", "rstd" })
            if (!check.Rows.Single(r => r.Name == name).Exact)
                Has(name, "its own line is exact given");
        Assert.Contains("rounds differently", check.ToText());
    }

    [Fact]
    public void TheRoundingIsInTheJsonReportAndTheDetailLine()
    {
        var check = LayerNorm(exactForms: false);
        var report = new CheckReport(new CheckSettings(11, (int)N), 0, check.Rows, [], Versions.TorchSharp, Versions.LibTorch);
        var doc = JsonRenderer.Parse(JsonRenderer.Render(report, RequiredLevel.Approx));
        Assert.Equal("manualvsauto.report/3", doc.Schema);
        Assert.Equal(check.Rows.Select(r => r.Rounding), doc.Rows.Select(r => r.Rounding));
        var y = check.Rows.Single(r => r.Name == "y");
        Assert.EndsWith(" — " + y.Rounding, SharedReportText.Detail(y));
        Assert.Null(doc.Rows.Single(r => r.Name == "W").Rounding); // exact
    }

    [Fact]
    public void TheFormsNamedMakeEveryRowOfTheLayerNormBlockExact()
    {
        var check = LayerNorm(exactForms: true);
        Assert.True(check.Rows.All(r => r.Exact), Describe(check));
        check.AssertAllExact();
    }

    [Fact]
    public void AWrongRowGetsNoRoundingExplanation()
    {
        var check = LayerNorm(exactForms: true, batchForFeatures: true);
        var xc = check.Rows.Single(r => r.Name == "xc");
        Assert.Equal(Verdict.Wrong, xc.Verdict);
        Assert.Null(xc.Rounding);
        Assert.All(check.Rows.Where(r => !r.Passed), r => Assert.Null(r.Rounding));
        // Its neighbours above, written in the exact forms, stay exact and unexplained.
        Assert.All(check.Rows.TakeWhile(r => r.Name != "xc"), r => Assert.True(r.Exact, Describe(check)));
    }

    [Fact]
    public void AScaledProductNamesTheScaleFirstAndThatFormIsExact()
    {
        var g = new Generator(3);
        var a = randn([2, 6, 8], generator: g).requires_grad_();
        var b = randn([2, 6, 8], generator: g).requires_grad_();
        var w = randn([2, 6, 6], generator: g);
        double scale = 1 / Math.Sqrt(8);
        var check = new GradientCheck();
        check.Step("a", _ => a); check.Step("b", _ => b);
        var s = check.Step("s", v => v("a").matmul(v("b").transpose(-2, -1)) * scale);
        check.Backward(check.Step("loss", v => (v("s") * w).sum()));
        using (no_grad())
        {
            var ds = w.clone();
            check.Compare("s", ds);
            var da = check.Compare("a", ds.matmul(b) * scale); // the scale last: rounds differently
            var db = check.Compare("b", ds.transpose(-2, -1).matmul(a) * scale);
            foreach (var row in new[] { da, db })
            {
                Assert.True(row.Passed);
                Assert.False(row.Exact);
                Assert.StartsWith("matmul scaled by 0.3535534 (step s) rounds differently: exact if written `(ds * 0.3535534)", row.Rounding);
            }
            // The forms named, the scale first, are autograd's bit for bit.
            Assert.True((ds * scale).matmul(b).eq(a.grad!).all().item<bool>());
            Assert.True((ds * scale).transpose(-2, -1).matmul(a).eq(b.grad!).all().item<bool>());
        }
    }

    /// <summary>One-op steps written naively: the op named and, where a form exists, that form exact when written.</summary>
    public static TheoryData<string> Ops() => new() { "tanh", "log", "sqrt", "rsqrt", "pow3", "sigmoid", "mean", "mulScalar", "divScalar", "var", "softmax", "log_softmax", "layer_norm" };

    private sealed record OneOp(Func<Tensor, Tensor> Forward, Func<Tensor, Tensor, Tensor, Tensor> Naive, string Op, Func<Tensor, Tensor, Tensor, Tensor>? Exact);

    private static OneOp Case(string op) => op switch
    {
        // (x, out, dout) → dx
        "log" => new(x => x.log(), (x, o, d) => d * (1 / x), "log", (x, o, d) => d / x),
        "sqrt" => new(x => x.sqrt(), (x, o, d) => 0.5 * x.pow(-0.5) * d, "sqrt", (x, o, d) => d / (2 * o)),
        "tanh" => new(x => x.tanh(), (x, o, d) => (1 - o.pow(2)) * d, "tanh", (x, o, d) => ones_like(o).addcmul(o, o, value: -1) * d),
        "rsqrt" => new(x => x.rsqrt(), (x, o, d) => -0.5 * x.pow(-1.5) * d, "rsqrt", (x, o, d) => -0.5 * d * o.pow(3)),
        "pow3" => new(x => x.pow(3), (x, o, d) => 3 * x * x * d, "pow(3)", (x, o, d) => d * (3 * x.pow(2))),
        "sigmoid" => new(x => x.sigmoid(), (x, o, d) => o * (1 - o) * d, "sigmoid", (x, o, d) => d * (1 - o) * o),
        "mean" => new(x => x.mean([-1], keepdim: true), (x, o, d) => (d * (1.0 / 7)).expand_as(x), "mean", (x, o, d) => (d / 7).expand_as(x)),
        "mulScalar" => new(x => x * 0.1, (x, o, d) => d / 10, "mul by the scalar 0.1", (x, o, d) => d * 0.1),
        "divScalar" => new(x => x / 3, (x, o, d) => d * (1.0 / 3), "div by the scalar 3", (x, o, d) => d / 3),
        "var" => new(x => x.var(-1, keepdim: true), (x, o, d) => 2 * (x - x.mean([-1], keepdim: true)) / 6 * d, "var",
            (x, o, d) => 2.0 / 6 * d * (x - x.mean([-1], keepdim: true))),
        "softmax" => new(x => F.softmax(x, -1), (x, o, d) => o * d - o * (o * d).sum(-1, keepdim: true), "softmax", null),
        "log_softmax" => new(x => F.log_softmax(x, -1), (x, o, d) => d - F.softmax(x, -1) * d.sum(-1, keepdim: true), "log_softmax", null),
        "layer_norm" => new(x => F.layer_norm(x, [7]), (x, o, d) =>
        {
            var xc = x - x.mean([-1], keepdim: true);
            var rstd = (xc.pow(2).mean([-1], keepdim: true) + 1e-5).rsqrt();
            var dxhat = d * rstd;
            return dxhat - dxhat.mean([-1], keepdim: true) - o * (dxhat * o).mean([-1], keepdim: true);
        }, "layer_norm", null),
        _ => throw new ArgumentException(op),
    };

    [Theory]
    [MemberData(nameof(Ops))]
    public void AOneOpStepNamesItsOpAndTheFormIsExactWhenWritten(string op)
    {
        var c = Case(op);
        var g = new Generator(5);
        var x0 = (rand([5, 7], generator: g) + 0.5).requires_grad_(); // positive, for log and the roots
        var w = randn(c.Forward(x0.detach()).shape, generator: g);
        var check = new GradientCheck();
        check.Step("x", _ => x0);
        var o = check.Step("out", v => c.Forward(v("x")));
        var loss = check.Step("loss", v => (v("out") * w).sum());
        check.Backward(loss);
        using (no_grad())
        {
            var dout = w.clone();
            check.Compare("out", dout);
            var row = check.Compare("x", c.Naive(x0.detach(), o.detach(), dout));
            Assert.True(row.Passed, $"{row.VerdictText} {row.Evidence}");
            Assert.False(row.Exact, $"{op}: the naive form happens to round as autograd does");
            Assert.NotNull(row.Rounding);
            Assert.StartsWith($"{c.Op} (step out) rounds differently", row.Rounding);
            if (c.Exact is { } exact)
            {
                Assert.Contains("exact if written", row.Rounding);
                Assert.True(exact(x0.detach(), o.detach(), dout).eq(x0.grad!).all().item<bool>(), $"{op}: the form named is not bitwise autograd's");
            }
            else Assert.Contains("native kernel", row.Rounding);
        }
    }
}
