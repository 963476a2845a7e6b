using ManualVsAuto.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Backward;

/// <summary>
/// Exercise 1: backprop through every intermediate by hand, in the lecture's order, reading no .grad. Each line
/// mirrors a step of <see cref="StepByStepForward"/>; a variable used twice gets its gradient accumulated (+=).
/// The MLP's first of three backward forms: step by step (this), one formula per exercise (<see cref="FusedBackward"/>),
/// loops over memory (<see cref="LoopStep"/>); held equal by ExerciseOneTests, FusedTests and LoopStepTests.
/// </summary>
public static class StepByStepBackward
{
    /// <summary>The 26 gradients, named as the tensors they belong to, in the lecture's cmp order.</summary>
    /// <param name="edit">
    /// Replaces a line's result, given the tensor's name, the line's gradient and the gradients so far by name; later
    /// lines use the replacement. This is how a classic mistake is placed on one line (the mistake matrix in the tests).
    /// </param>
    public static IReadOnlyList<(string Name, Tensor Grad)> Run(MlpParameters p, ForwardState f, Tensor Xb, Tensor Yb,
        Func<string, Tensor, IReadOnlyDictionary<string, Tensor>, Tensor>? edit = null)
    {
        using var _ = no_grad();
        long n = Yb.shape[0];
        var rows = arange(n);
        var done = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        Tensor L(string name, Tensor d) => done[name] = edit is null ? d : edit(name, d, done);

        // loss = -logprobs[range(n), Yb].mean()
        var dlogprobs = L("logprobs", zeros_like(f.logprobs).index_put_(full([n], -1.0 / n, dtype: f.logprobs.dtype), rows, Yb));
        // logprobs = probs.log()
        var dprobs = L("probs", dlogprobs / f.probs);
        // probs = counts * counts_sum_inv  (counts_sum_inv broadcasts over columns)
        var dcounts_sum_inv = L("counts_sum_inv", (f.counts * dprobs).sum(1, keepdim: true));
        var dcounts = dprobs * f.counts_sum_inv;
        // counts_sum_inv = counts_sum**-1
        var dcounts_sum = L("counts_sum", -f.counts_sum.pow(-2) * dcounts_sum_inv);
        // counts_sum = counts.sum(1): the second path into counts
        dcounts = L("counts", dcounts + dcounts_sum.expand_as(f.counts));
        // counts = norm_logits.exp()
        var dnorm_logits = L("norm_logits", dcounts * f.counts);
        // norm_logits = logits - logit_maxes
        var dlogit_maxes = L("logit_maxes", -dnorm_logits.sum(1, keepdim: true));
        // logit_maxes = logits.max(1): the second path into logits
        var dlogits = L("logits", dnorm_logits + F.one_hot(f.logits.argmax(1), f.logits.shape[1]).to_type(f.logits.dtype) * dlogit_maxes);
        // logits = h @ W2 + b2
        var dh = L("h", dlogits.matmul(p.W2.t()));
        var dW2 = L("W2", f.h.t().matmul(dlogits));
        var db2 = L("b2", dlogits.sum(0, keepdim: false));
        // h = tanh(hpreact): (1 - h*h) * dh, with 1 - h*h as one fused multiply-add like libtorch's tanh backward
        var dhpreact = L("hpreact", ones_like(f.h).addcmul(f.h, f.h, value: -1.0) * dh);
        // hpreact = bngain * bnraw + bnbias
        var dbngain = L("bngain", (f.bnraw * dhpreact).sum(0, keepdim: true));
        var dbnraw = L("bnraw", p.bngain * dhpreact);
        var dbnbias = L("bnbias", dhpreact.sum(0, keepdim: true));
        // bnraw = bndiff * bnvar_inv
        var dbndiff = dbnraw * f.bnvar_inv;
        var dbnvar_inv = L("bnvar_inv", (f.bndiff * dbnraw).sum(0, keepdim: true));
        // bnvar_inv = (bnvar + eps)**-0.5
        var dbnvar = L("bnvar", -0.5 * (f.bnvar + StepByStepForward.BnEps).pow(-1.5) * dbnvar_inv);
        // bnvar = 1/(n-1) * bndiff2.sum(0)
        var dbndiff2 = L("bndiff2", (1.0 / (n - 1)) * dbnvar.expand_as(f.bndiff2));
        // bndiff2 = bndiff**2: the second path into bndiff
        dbndiff = L("bndiff", dbndiff + 2.0 * f.bndiff * dbndiff2);
        // bndiff = hprebn - bnmeani
        var dbnmeani = L("bnmeani", -dbndiff.sum(0, keepdim: true));
        // bnmeani = 1/n * hprebn.sum(0): the second path into hprebn
        var dhprebn = L("hprebn", dbndiff + (1.0 / n) * dbnmeani.expand_as(f.hprebn));
        // hprebn = embcat @ W1 + b1
        var dembcat = L("embcat", dhprebn.matmul(p.W1.t()));
        var dW1 = L("W1", f.embcat.t().matmul(dhprebn));
        var db1 = L("b1", dhprebn.sum(0, keepdim: false));
        // embcat = emb.view(n, -1)
        var demb = L("emb", dembcat.view(f.emb.shape));
        // emb = C[Xb]: scatter-add each row back to the character it was looked up for
        var dC = L("C", zeros_like(p.C).index_add_(0, Xb.view(-1), demb.view(-1, p.C.shape[1]), 1.0));

        return
        [
            ("logprobs", dlogprobs), ("probs", dprobs), ("counts_sum_inv", dcounts_sum_inv), ("counts_sum", dcounts_sum),
            ("counts", dcounts), ("norm_logits", dnorm_logits), ("logit_maxes", dlogit_maxes), ("logits", dlogits),
            ("h", dh), ("W2", dW2), ("b2", db2), ("hpreact", dhpreact), ("bngain", dbngain), ("bnbias", dbnbias),
            ("bnraw", dbnraw), ("bnvar_inv", dbnvar_inv), ("bnvar", dbnvar), ("bndiff2", dbndiff2), ("bndiff", dbndiff),
            ("bnmeani", dbnmeani), ("hprebn", dhprebn), ("embcat", dembcat), ("W1", dW1), ("b1", db1), ("emb", demb),
            ("C", dC),
        ];
    }
}
