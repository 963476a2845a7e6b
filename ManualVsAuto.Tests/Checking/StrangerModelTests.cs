using ManualVsAuto.Checking;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Tests;

/// <summary>
/// Models the checker has never seen, written as a TorchSharp developer would — the step form, data captured in
/// closures, no float64 callback: a single-head self-attention block and a LayerNorm → tanh → Linear → MSE block.
/// Correct, every row passes (the checker decides float32 rows in float64 itself); with one planted mistake, the
/// mistaken line is the only row called WRONG and every row below it inherits it.
/// </summary>
public class StrangerModelTests : IDisposable
{
    private readonly IDisposable scope = NewDisposeScope();

    public void Dispose() => scope.Dispose();

    private const long B = 3, T = 6, C = 8;

    /// <summary>
    /// Self-attention: q, k, v projections of x (captured, float32), softmax over scaled scores, an output
    /// projection, a sum-of-squares loss; the backward by hand with <paramref name="missingTranspose"/> planting
    /// <c>dv = att.matmul(dctx)</c> for <c>att.transpose(-2, -1).matmul(dctx)</c>.
    /// </summary>
    private static GradientCheck Attention(bool missingTranspose, bool doubled = false)
    {
        var g = new Generator(7);
        var x = randn([B, T, C], generator: g);
        Tensor Weight() => (randn([C, C], generator: g) / Math.Sqrt(C)).requires_grad_();
        var (Wq, Wk, Wv, Wo) = (Weight(), Weight(), Weight(), Weight());
        double scale = 1 / Math.Sqrt(C);

        var check = new GradientCheck();
        check.Step("Wq", _ => Wq); check.Step("Wk", _ => Wk); check.Step("Wv", _ => Wv); check.Step("Wo", _ => Wo);
        var q = check.Step("q", v => x.matmul(v("Wq")));
        var k = check.Step("k", v => x.matmul(v("Wk")));
        var val = check.Step("v", v => x.matmul(v("Wv")));
        var scores = check.Step("scores", v => v("q").matmul(v("k").transpose(-2, -1)) * scale);
        var att = check.Step("att", v => F.softmax(v("scores"), -1));
        var ctx = check.Step("ctx", v => v("att").matmul(v("v")));
        var o = check.Step("o", v => v("ctx").matmul(v("Wo")));
        check.Backward((o * o).sum());

        using (no_grad())
        {
            Tensor Flat(Tensor t) => t.reshape(-1, C);
            var dout = 2 * o;
            var dWo = Flat(ctx).t().matmul(Flat(dout));
            var dctx = dout.matmul(Wo.t());
            var datt = dctx.matmul(val.transpose(-2, -1));
            var dv = missingTranspose ? att.matmul(dctx) : att.transpose(-2, -1).matmul(dctx) * (doubled ? 2 : 1);
            var dscores = att * (datt - (datt * att).sum(-1, keepdim: true));
            var dq = dscores.matmul(k) * scale;
            var dk = dscores.transpose(-2, -1).matmul(q) * scale;
            check.Compare("o", dout);
            check.Compare("Wo", dWo);
            check.Compare("ctx", dctx);
            check.Compare("att", datt);
            check.Compare("v", dv);
            check.Compare("scores", dscores);
            check.Compare("q", dq);
            check.Compare("k", dk);
            check.Compare("Wq", Flat(x).t().matmul(Flat(dq)));
            check.Compare("Wk", Flat(x).t().matmul(Flat(dk)));
            check.Compare("Wv", Flat(x).t().matmul(Flat(dv)));
        }
        return check;
    }

    private const long N = 16, D = 10, K = 4;

    /// <summary>
    /// LayerNorm (its decomposition, eps 1e-5) → tanh → Linear → MSE, the input a step of its own; the backward by
    /// hand with <paramref name="batchForFeatures"/> planting the variance's 1/N (the batch) for 1/D (the features).
    /// </summary>
    private static GradientCheck LayerNorm(bool batchForFeatures)
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
        var diff = o - target;
        check.Backward((diff * diff).mean());

        using (no_grad())
        {
            var dout = 2 * diff / diff.numel();
            var dW = t.t().matmul(dout);
            var db = dout.sum(0, keepdim: false);
            var dt = dout.matmul(W.t());
            var dy = (1 - t * t) * dt;
            var dgamma = (dy * xhat).sum(0, keepdim: false);
            var dbeta = dy.sum(0, keepdim: false);
            var dxhat = dy * gamma;
            var drstd = (dxhat * xc).sum(-1, keepdim: true);
            var dvar = drstd * -0.5 * (var_ + eps).pow(-1.5);
            var dxc = dxhat * rstd + 2 * xc * dvar / (batchForFeatures ? N : D);
            var dmu = -dxc.sum(-1, keepdim: true);
            var dx = dxc + dmu / D;
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

    [Fact]
    public void TheAttentionBlockPassesWithoutAFloat64Callback()
    {
        var check = Attention(missingTranspose: false);
        Assert.All(check.Rows, r => Assert.True(r.Passed, $"{r.Name}: {r.VerdictText} {r.Evidence} {r.Hint}"));
        check.AssertAllClose();
    }

    [Fact]
    public void TheAttentionBlocksMissingTransposeIsTheOnlyWrongRow()
    {
        var check = Attention(missingTranspose: true);
        var wrong = check.Rows.Where(r => r.Verdict == Verdict.Wrong).ToList();
        Assert.Equal(["v"], wrong.Select(r => r.Name));
        Assert.True(wrong[0].DecidedLocally);
        Assert.Equal("hint: dv is att.matmul(dctx) — a transpose missing or misplaced in the product's backward; the product's backward is dv = attᵀ.matmul(dctx).", wrong[0].Hint);
        Assert.Equal("a missing transpose", wrong[0].Cause);
        Assert.Equal(["v"], check.Rows.Single(r => r.Name == "Wv").InheritsFrom);
        // The rows above v and the other branches are untouched by it.
        Assert.All(check.Rows.Where(r => r.Name is not ("v" or "Wv")), r => Assert.True(r.Passed, $"{r.Name}: {r.VerdictText}"));
    }

    [Fact]
    public void TheLayerNormBlockPassesWithoutAFloat64Callback()
    {
        var check = LayerNorm(batchForFeatures: false);
        Assert.All(check.Rows, r => Assert.True(r.Passed, $"{r.Name}: {r.VerdictText} {r.Evidence} {r.Hint}"));
    }

    [Fact]
    public void EveryRowOfBothBlocksThatIsNotExactSaysWhichOpRoundsDifferently()
    {
        foreach (var check in new[] { LayerNorm(batchForFeatures: false), Attention(missingTranspose: false) })
        {
            string all = string.Join("\n", check.Rows.Select(r => $"{r.Name}: {r.VerdictText} · {r.Rounding}"));
            Assert.All(check.Rows.Where(r => !r.Exact), r => Assert.False(string.IsNullOrEmpty(r.Rounding), all));
        }
        // The loss is computed outside the steps: o's row says so rather than guess an op.
        var o = LayerNorm(batchForFeatures: false).Rows.Single(r => r.Name == "o");
        if (!o.Exact) Assert.StartsWith("no step reads o", o.Rounding);
        Assert.StartsWith("tanh (step t) rounds differently", LayerNorm(batchForFeatures: false).Rows.Single(r => r.Name == "y").Rounding);
        // Attention: the softmax is a native kernel; the scaled scores' product scales the gradient first.
        var attention = Attention(missingTranspose: false).Rows;
        Assert.StartsWith("softmax (step att) rounds differently", attention.Single(r => r.Name == "scores").Rounding);
        Assert.All(attention.Where(r => r.Name is "q" or "k" && !r.Exact), r => Assert.StartsWith("matmul scaled by", r.Rounding));
    }

    [Fact]
    public void TheLayerNormBlocksWrongSizeIsTheOnlyWrongRowAndNotCalledAMissingPath()
    {
        var check = LayerNorm(batchForFeatures: true);
        var wrong = check.Rows.Where(r => r.Verdict == Verdict.Wrong).ToList();
        Assert.True(wrong.Select(r => r.Name).SequenceEqual(["xc"]), string.Join("; ", check.Rows.Select(r => $"{r.Name}: {r.VerdictText} {r.Hint} {r.Evidence}")));
        Assert.True(wrong[0].DecidedLocally);
        Assert.DoesNotContain("a missing path —", wrong[0].Hint ?? "");
        // dmu sums dxc over the features, where the wrong term 2·xc·dvar/N sums to 0: mu is right; x inherits.
        Assert.True(check.Rows.Single(r => r.Name == "mu").Passed);
        Assert.Equal(["xc"], check.Rows.Single(r => r.Name == "x").InheritsFrom);
    }

    [Fact]
    public void ANeighbouringMistakeAtTheSameProductIsNotCalledATranspose()
    {
        var check = Attention(missingTranspose: false, doubled: true);
        var v = check.Rows.Single(r => r.Name == "v");
        Assert.Equal(Verdict.Wrong, v.Verdict);
        Assert.DoesNotContain("transpose", v.Hint);
        Assert.Contains("factor", v.Hint);
    }
}
