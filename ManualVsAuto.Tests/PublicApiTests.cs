using ManualVsAuto.Checking;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Tests;

/// <summary>
/// The public API on a model that is not the lecture's: a two-layer net (Linear, ReLU, Linear) with a softmax
/// cross-entropy, as in the README and in Consumer/Program.cs. Track the steps, Backward, Compare by name, assert.
/// </summary>
public class PublicApiTests : IDisposable
{
    private readonly IDisposable scope = NewDisposeScope();

    public void Dispose() => scope.Dispose();

    /// <summary>The README's model: data, parameters, the tracked forward pass and the manual backward.</summary>
    private sealed class TwoLayerNet
    {
        public const long N = 64, D = 2, H = 16, C = 3;
        public readonly Tensor x, y, W1, b1, W2, b2;
        public readonly GradientCheck Check = new();
        public Tensor hpre = null!, h = null!, logits = null!, probs = null!, logprobs = null!, loss = null!;

        public TwoLayerNet()
        {
            var g = new Generator(42);
            x = randn(N, D, generator: g);
            y = randint(0, C, N, generator: g);
            W1 = (randn(D, H, generator: g) * 0.5).requires_grad_();
            b1 = (randn(H, generator: g) * 0.1).requires_grad_();
            W2 = (randn(H, C, generator: g) * 0.5).requires_grad_();
            b2 = (randn(C, generator: g) * 0.1).requires_grad_();
        }

        public static readonly string[] Parameters = ["W1", "b1", "W2", "b2"];

        /// <summary>The forward pass with every step tracked, and autograd's backward.</summary>
        public TwoLayerNet ForwardAndBackward()
        {
            Check.Track("W1", W1); Check.Track("b1", b1); Check.Track("W2", W2); Check.Track("b2", b2);
            hpre = Check.Track("hpre", x.matmul(W1) + b1);
            h = Check.Track("h", F.relu(hpre));
            logits = Check.Track("logits", h.matmul(W2) + b2);
            probs = Check.Track("probs", F.softmax(logits, 1));
            logprobs = Check.Track("logprobs", probs.log());
            loss = -logprobs.index(arange(N), y).mean();
            Check.Backward(loss);
            return this;
        }

        /// <summary>The loss from the parameters alone, for finite differences: float64 in, float64 out.</summary>
        public Tensor Loss(IReadOnlyList<Tensor> p)
        {
            var x64 = x.to_type(ScalarType.Float64);
            var lp = F.softmax(F.relu(x64.matmul(p[0]) + p[1]).matmul(p[2]) + p[3], 1).log();
            return -lp.index(arange(N), y).mean();
        }

        /// <summary>
        /// Each line is the derivative of one forward step, written with the same ops autograd's backward uses:
        /// log's is grad / x, softmax's is (grad − Σ grad·p)·p, relu's zeroes where the output is 0, a matmul's is
        /// two matmuls with a transpose, a broadcast bias's is a sum over the batch. So every row is bit-exact.
        /// </summary>
        public Dictionary<string, Tensor> Manual()
        {
            using var _ = no_grad();
            var dlogprobs = zeros_like(logprobs).index_put_(full([N], -1.0 / N), arange(N), y);
            var dprobs = dlogprobs / probs;
            var dlogits = (dprobs - (dprobs * probs).sum(1, keepdim: true)) * probs;
            var dh = dlogits.matmul(W2.t());
            var dW2 = h.t().matmul(dlogits);
            var db2 = dlogits.sum(0, keepdim: false);
            var dhpre = dh.masked_fill(h.le(0), 0);
            var dW1 = x.t().matmul(dhpre);
            var db1 = dhpre.sum(0, keepdim: false);
            return new()
            {
                ["logprobs"] = dlogprobs, ["probs"] = dprobs, ["logits"] = dlogits, ["h"] = dh, ["W2"] = dW2,
                ["b2"] = db2, ["hpre"] = dhpre, ["W1"] = dW1, ["b1"] = db1,
            };
        }

        public void CompareAll(Dictionary<string, Tensor> manual)
        {
            foreach (var (name, grad) in manual) Check.Compare(name, grad);
        }
    }

    private static readonly string[] RowNames = ["logprobs", "probs", "logits", "h", "W2", "b2", "hpre", "W1", "b1"];

    [Fact]
    public void EveryRowOfTheTwoLayerSoftmaxNetIsExact()
    {
        var net = new TwoLayerNet().ForwardAndBackward();
        net.CompareAll(net.Manual());

        Assert.Equal(RowNames, net.Check.Rows.Select(r => r.Name));
        Assert.All(net.Check.Rows, r => Assert.True(r.Exact, r.Name));
        net.Check.AssertAllExact();
        net.Check.AssertAllClose();
        Assert.True(net.Check.Passes(RequiredLevel.Exact));
        Assert.Equal("9/9 exact", net.Check.Summary);
    }

    [Fact]
    public void ToTextIsAPlainTableOfEveryRowAndTheSummary()
    {
        var net = new TwoLayerNet().ForwardAndBackward();
        net.CompareAll(net.Manual());
        var lines = net.Check.ToText().TrimEnd('\n').Split('\n');

        Assert.Equal(["name", "shape", "verdict", "exact", "approximate", "maxdiff", "ulps", "worst", "manual", "autograd", "hint"],
            lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches("^[- ]+$", lines[1]);
        Assert.Equal(RowNames, lines[2..^1].Select(l => l.Split(' ')[0]));
        Assert.StartsWith("W1        (2, 16)   exact    True   True             0.0     0", lines[9]);
        Assert.Equal("9/9 exact", lines[^1]);
        Assert.DoesNotContain('\u001b', net.Check.ToText());
    }

    [Fact]
    public void SignErrorFailsBothAssertionsWithTheRowAndItsHint()
    {
        var net = new TwoLayerNet().ForwardAndBackward();
        var manual = net.Manual();
        manual["W2"] = -manual["W2"];
        net.CompareAll(manual);

        var e = Assert.Throws<GradientAssertionException>(net.Check.AssertAllExact);
        Assert.Equal(RequiredLevel.Exact, e.Level);
        Assert.Equal(["W2"], e.FailingRows.Select(r => r.Name));
        var lines = e.Message.Split('\n');
        Assert.Equal("AssertAllExact failed: 1 of 9 gradients is not bitwise equal to autograd's:", lines[0]);
        Assert.StartsWith("name ", lines[1]);
        Assert.StartsWith("W2 ", lines[3]);
        Assert.Contains("hint: a sign error", lines[3]);
        Assert.Contains("WRONG (likely origin)", lines[3]);
        Assert.Contains(" sign differs ", lines[3]); // no ulps across 0
        Assert.Null(e.FailingRows[0].Ulps);
        Assert.Equal("8/9 exact, 8/9 approximate · 1 mistake, likely at W2 (a sign error)", lines[^1]);
        Assert.Equal(5, lines.Length); // the header line, the table's header and rule, one row, the summary

        var close = Assert.Throws<GradientAssertionException>(net.Check.AssertAllClose);
        Assert.StartsWith("AssertAllClose failed: 1 of 9 gradients is not allclose to autograd's (rtol 1e-5, atol 1e-8):", close.Message);
        Assert.Contains("W2", close.Message);
        Assert.Contains("hint: a sign error", close.Message);
    }

    [Fact]
    public void MissingMeanFactorFailsEveryRowAndTheFirstNamesTheFactor()
    {
        // The classic slip: d(mean)/dx is 1/n, forgotten at the top, so every gradient below is n times too big.
        var net = new TwoLayerNet().ForwardAndBackward();
        var manual = net.Manual();
        using (no_grad())
            foreach (var name in RowNames) manual[name] = manual[name] * TwoLayerNet.N;
        net.CompareAll(manual);

        var e = Assert.Throws<GradientAssertionException>(net.Check.AssertAllClose);
        Assert.Equal(RowNames, e.FailingRows.Select(r => r.Name));
        Assert.StartsWith("AssertAllClose failed: 9 of 9 gradients are not allclose", e.Message);
        // Without steps only the order is known: the first failing row is the likely origin, the others may inherit it.
        var table = e.Message.Split('\n')[3..^1];
        Assert.Contains("WRONG (likely origin)", table[0]);
        Assert.Contains("off by a factor of 64", table[0]);
        Assert.All(table[1..], line => Assert.Contains("may inherit ← logprobs", line));
        Assert.All(table[1..], line => Assert.DoesNotContain("hint", line));
        Assert.EndsWith("0/9 exact, 0/9 approximate · 1 mistake, likely at logprobs (a factor of n); 8 rows may inherit it", e.Message);
    }

    [Fact]
    public void OneUlpOffFailsAssertAllExactOnlyAndShowsTheWorstElement()
    {
        var net = new TwoLayerNet().ForwardAndBackward();
        var manual = net.Manual();
        var db2 = manual["b2"];
        manual["b2"] = db2.nextafter(full_like(db2, double.PositiveInfinity));
        net.CompareAll(manual);

        net.Check.AssertAllClose();
        var e = Assert.Throws<GradientAssertionException>(net.Check.AssertAllExact);
        var row = Assert.Single(e.FailingRows);
        Assert.Equal("b2", row.Name);
        Assert.Equal(1, row.Ulps);
        var line = e.Message.Split('\n')[3];
        Assert.Matches(@"^b2 +\(3\) +approximate +False +True +\S+ +1 +\[\d\] +\S+ +\S+$", line);
        Assert.Equal("8/9 exact, 9/9 approximate", e.Message.Split('\n')[^1]);
    }

    [Fact]
    public void RowThatCannotBeExactIsJudgedByAllcloseAndMarked()
    {
        // With F.cross_entropy the loss is log_softmax + nll_loss. log_softmax's backward takes exp() of its output
        // inside its own SIMD kernel, which rounds differently from Tensor.exp() in the last bit for some elements,
        // so no formula made of public ops reproduces it bit for bit: compare the textbook fused gradient
        // (softmax − one-hot) / n with expectExact: false, and it is judged by allclose.
        var net = new TwoLayerNet();
        var check = new GradientCheck();
        var logits = check.Track("logits", F.relu(net.x.matmul(net.W1) + net.b1).matmul(net.W2) + net.b2);
        check.Backward(F.cross_entropy(logits, net.y));
        using (no_grad())
        {
            var fused = (F.softmax(logits, 1) - F.one_hot(net.y, TwoLayerNet.C).to_type(logits.dtype)) / TwoLayerNet.N;
            var row = check.Compare("logits", fused, label: "logits (fused CE)", expectExact: false);
            Assert.True(row.Approximate);
            Assert.False(row.ExpectExact);
        }

        check.AssertAllExact();
        Assert.Equal("1/1 approximate by construction", check.Summary);
        var text = check.ToText();
        Assert.Contains("logits (fused CE)", text);
        Assert.Matches(@"\(64, 3\) +(exact|approximate) +(True|False)\* +True", text);
        Assert.Contains("* approximate by construction", text);
    }

    [Fact]
    public void NothingComparedIsAFailureNotAPass()
    {
        var net = new TwoLayerNet().ForwardAndBackward();
        var e = Assert.Throws<GradientAssertionException>(net.Check.AssertAllExact);
        Assert.Contains("no manual gradient was compared", e.Message);
        Assert.False(net.Check.Passes(RequiredLevel.Approx));
    }

    [Fact]
    public void FiniteDifferencesAgreeWithTheCorrectGradients()
    {
        var net = new TwoLayerNet().ForwardAndBackward();
        net.CompareAll(net.Manual());
        var results = net.Check.CheckNumerically(TwoLayerNet.Parameters, net.Loss);

        Assert.Equal(TwoLayerNet.Parameters, results.Select(r => r.Name));
        Assert.All(results, r => Assert.True(r.Passed, r.Summary));
        net.Check.AssertAllExact();
        Assert.Equal("9/9 exact · numeric 4/4 pass", net.Check.Summary);
        Assert.Contains("numeric", net.Check.ToText().Split('\n')[0]);
    }

    [Fact]
    public void FiniteDifferencesCatchAWrongGradientAndTheAssertionSaysSo()
    {
        // Forgetting relu's mask: the gradient flows through units that were off.
        var net = new TwoLayerNet().ForwardAndBackward();
        var manual = net.Manual();
        using (no_grad()) manual["W1"] = net.x.t().matmul(manual["h"]);
        net.CompareAll(manual);
        var results = net.Check.CheckNumerically(TwoLayerNet.Parameters, net.Loss);

        Assert.False(results.Single(r => r.Name == "W1").Passed);
        Assert.All(results.Where(r => r.Name != "W1"), r => Assert.True(r.Passed, r.Summary));
        var e = Assert.Throws<GradientAssertionException>(net.Check.AssertAllClose);
        Assert.Equal(["W1"], e.FailingRows.Select(r => r.Name));
        Assert.Contains("and passing the finite-difference check", e.Message.Split('\n')[0]);
        Assert.Contains("numeric: W1 (2, 16) full: FAIL", e.Message);
        Assert.EndsWith("8/9 exact, 8/9 approximate · numeric 3/4 pass · 1 mistake, likely at W1", e.Message);
    }

    /// <summary>The front door's example (README.md, "Check your own model"), on random data: both rows pass.</summary>
    [Fact]
    public void FrontDoorExamplePasses()
    {
        var g = new Generator(7);
        var x = randn(8, 5, generator: g);
        var W = randn(5, 4, generator: g).requires_grad_();
        var check = new GradientCheck();
        check.Step("W", _ => W);
        var h = check.Step("h", v => x.mm(v("W")));
        var loss = check.Step("loss", v => v("h").tanh().pow(2).mean());
        check.Backward(loss);
        using (no_grad())
        {
            var t = h.tanh();
            var dh = 2.0 / h.numel() * t * (1 - t * t);
            check.Compare("h", dh);
            check.Compare("W", x.t().mm(dh));
        }
        Assert.True(check.Passes(RequiredLevel.Approx), check.ToText());
    }

    [Fact]
    public void ReadmeExampleIsTheConsumerProgram()
    {
        string root = RepositoryRoot();
        string readme = File.ReadAllText(Path.Combine(root, "ManualVsAuto", "Library", "README.md")).ReplaceLineEndings("\n");
        int start = readme.IndexOf("<!-- api:start -->", StringComparison.Ordinal);
        int end = readme.IndexOf("<!-- api:end -->", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "the library guide has the api:start/api:end markers");
        string section = readme[start..end];
        const string fence = "```csharp\n";
        int code = section.IndexOf(fence, StringComparison.Ordinal);
        Assert.True(code >= 0, "the API section has a C# code block");
        code += fence.Length;
        string example = section[code..section.IndexOf("```", code, StringComparison.Ordinal)];

        string program = File.ReadAllText(Path.Combine(root, "ManualVsAuto.Tests", "Consumer", "Program.cs")).ReplaceLineEndings("\n");
        Assert.Equal(program, example);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ManualVsAuto.sln"))) return dir.FullName;
        throw new InvalidOperationException("ManualVsAuto.sln not found above " + AppContext.BaseDirectory);
    }
}
