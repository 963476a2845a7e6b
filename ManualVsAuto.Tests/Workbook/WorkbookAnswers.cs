namespace ManualVsAuto.Tests;

/// <summary>
/// The lecture's answers, kept here as the tests' own copy (not read from the library), as C# text to write into a
/// workbook's blanks: each replaces the blank <c>=&gt; throw new NotAttempted();</c> of its method.
/// </summary>
public static class WorkbookAnswers
{
    public const string Blank = "=> throw new NotAttempted();";

    public static readonly IReadOnlyDictionary<string, string> Exercise1 = new Dictionary<string, string>
    {
        ["dlogprobs"] = "{ var d = zeros_like(logprobs); d.index_put_(full([n], -1.0 / n, dtype: logprobs.dtype), arange(n), Yb); return d; }",
        ["dprobs"] = "=> dlogprobs / probs;",
        ["dcounts_sum_inv"] = "=> (counts * dprobs).sum(1, keepdim: true);",
        ["dcounts_sum"] = "=> -counts_sum.pow(-2) * dcounts_sum_inv;",
        ["dcounts"] = "=> dprobs * counts_sum_inv + dcounts_sum.expand_as(counts);",
        ["dnorm_logits"] = "=> dcounts * counts;",
        ["dlogit_maxes"] = "=> -dnorm_logits.sum(1, keepdim: true);",
        ["dlogits"] = "=> dnorm_logits + F.one_hot(logits.argmax(1), logits.shape[1]).to_type(logits.dtype) * dlogit_maxes;",
        ["dh"] = "=> dlogits.matmul(W2.t());",
        ["dW2"] = "=> h.t().matmul(dlogits);",
        ["db2"] = "=> dlogits.sum(0, keepdim: false);",
        ["dhpreact"] = "=> ones_like(h).addcmul(h, h, value: -1.0) * dh;",
        ["dbngain"] = "=> (bnraw * dhpreact).sum(0, keepdim: true);",
        ["dbnbias"] = "=> dhpreact.sum(0, keepdim: true);",
        ["dbnraw"] = "=> bngain * dhpreact;",
        ["dbnvar_inv"] = "=> (bndiff * dbnraw).sum(0, keepdim: true);",
        ["dbnvar"] = "=> -0.5 * (bnvar + eps).pow(-1.5) * dbnvar_inv;",
        ["dbndiff2"] = BesselAnswer,
        ["dbndiff"] = "=> dbnraw * bnvar_inv + 2.0 * bndiff * dbndiff2;",
        ["dbnmeani"] = "=> -dbndiff.sum(0, keepdim: true);",
        ["dhprebn"] = "=> dbndiff + (1.0 / n) * dbnmeani.expand_as(hprebn);",
        ["dembcat"] = "=> dhprebn.matmul(W1.t());",
        ["dW1"] = "=> embcat.t().matmul(dhprebn);",
        ["db1"] = "=> dhprebn.sum(0, keepdim: false);",
        ["demb"] = "=> dembcat.view(emb.shape);",
        ["dC"] = "=> zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]), 1.0);",
    };

    /// <summary>bnvar = 1/(n−1)·Σ bndiff2: the lecture's unbiased variance.</summary>
    public const string BesselAnswer = "=> (1.0 / (n - 1)) * dbnvar.expand_as(bndiff2);";

    /// <summary>The classic slip: 1/n where the forward divides by n−1 (Bessel's correction).</summary>
    public const string BesselMistake = "=> (1.0 / n) * dbnvar.expand_as(bndiff2);";

    /// <summary>The right value, but dhpreact changed in place: in the notebook that corrupts dbnbias and dbnraw.</summary>
    public const string InPlaceMistake = "=> dhpreact.mul_(bnraw).sum(0, keepdim: true);";

    public const string Exercise2 =
        "{ var d = F.softmax(logits, 1); d.index_put_(d.index(arange(n), Yb) - 1.0, arange(n), Yb); return d / n; }";

    public const string Exercise3 =
        "=> bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0, keepdim: false) - n / (n - 1.0) * bnraw * (dhpreact * bnraw).sum(0, keepdim: false));";

    public const string Exercise4 = """
        {
                long n = Xb.shape[0];
                var dlogits = new Exercise2().dlogits(f.logits, Yb, n);
                var dh = dlogits.matmul(p.W2.t());
                var dW2 = f.h.t().matmul(dlogits);
                var db2 = dlogits.sum(0, keepdim: false);
                var dhpreact = (1.0 - f.h * f.h) * dh;
                var dbngain = (f.bnraw * dhpreact).sum(0, keepdim: true);
                var dbnbias = dhpreact.sum(0, keepdim: true);
                var dhprebn = new Exercise3().dhprebn(dhpreact, p.bngain, f.bnvar_inv, f.bnraw, n);
                var dembcat = dhprebn.matmul(p.W1.t());
                var dW1 = f.embcat.t().matmul(dhprebn);
                var db1 = dhprebn.sum(0, keepdim: false);
                var dC = zeros_like(p.C).index_add_(0, Xb.view(-1), dembcat.view(-1, p.C.shape[1]), 1.0);
                return new MlpParameters(dC, dW1, db1, dW2, db2, dbngain, dbnbias);
            }
        """;

    /// <summary>The lecture's training loop: p.grad = null, loss.backward(), p.data += -lr * p.grad.</summary>
    public const string Exercise5 = """
        {
                for (int i = 0; i < max_steps; i++)
                {
                    var (Xb, Yb) = minibatch();
                    var loss = forward(Xb, Yb);
                    foreach (var p in parameters) p.grad = null;
                    loss.backward();
                    double lr = i < lr_decay_step ? 0.1 : 0.01;
                    using (no_grad()) foreach (var p in parameters) p.add_(-lr * p.grad!);
                }
            }
        """;

    /// <summary>Exercise 5's zeroing line; a comment in its place plants "never zeroed" without moving a line.</summary>
    public const string Zeroing = "foreach (var p in parameters) p.grad = null;", NoZeroing = "// (no zeroing)";

    /// <summary>
    /// Writes <paramref name="answer"/> over the blank of <paramref name="method"/> in the file: exactly one line must
    /// declare the method, and it must still hold a blank (or <paramref name="replacing"/>).
    /// </summary>
    public static void Fill(string file, string method, string answer, string replacing = Blank)
    {
        var lines = File.ReadAllLines(file);
        var matches = Enumerable.Range(0, lines.Length).Where(i => lines[i].Contains($" {method}(", StringComparison.Ordinal)
            && lines[i].TrimStart().StartsWith("public ", StringComparison.Ordinal)).ToList();
        if (matches.Count != 1) throw new InvalidOperationException($"{file}: {matches.Count} declarations of {method}, expected 1");
        var line = lines[matches[0]];
        if (!line.EndsWith(replacing, StringComparison.Ordinal)) throw new InvalidOperationException($"{file}: {method} does not end with {replacing}: {line}");
        lines[matches[0]] = line[..^replacing.Length] + answer;
        File.WriteAllLines(file, lines);
    }

    /// <summary>Every blank of the five exercises filled with the lecture's answers.</summary>
    public static void FillAll(string workbook)
    {
        foreach (var (method, answer) in Exercise1) Fill(Path.Combine(workbook, "Exercise1.cs"), method, answer);
        Fill(Path.Combine(workbook, "Exercise2.cs"), "dlogits", Exercise2);
        Fill(Path.Combine(workbook, "Exercise3.cs"), "dhprebn", Exercise3);
        Fill(Path.Combine(workbook, "Exercise4.cs"), "Backward", Exercise4);
        Fill(Path.Combine(workbook, "Exercise5.cs"), "Train", Exercise5);
    }
}
