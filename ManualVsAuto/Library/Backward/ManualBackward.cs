using ManualVsAuto.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Backward;

/// <summary>
/// Exercise 1: backprop through every intermediate by hand, in the lecture's order, reading no .grad.
/// Each line mirrors a forward step; a variable used twice gets its gradient accumulated (+=).
/// </summary>
public static class ManualBackward
{
    /// <summary>The 26 gradients, named as the tensors they belong to, in the lecture's cmp order.</summary>
    public static IReadOnlyList<(string Name, Tensor Grad)> Run(MlpParameters p, ForwardState f, Tensor Xb, Tensor Yb)
    {
        using var _ = no_grad();
        long n = Yb.shape[0];
        var rows = arange(n);

        // loss = -logprobs[range(n), Yb].mean()
        var dlogprobs = zeros_like(f.logprobs);
        dlogprobs.index_put_(full([n], -1.0 / n, dtype: f.logprobs.dtype), rows, Yb);
        // logprobs = probs.log()
        var dprobs = dlogprobs / f.probs;
        // probs = counts * counts_sum_inv  (counts_sum_inv broadcasts over columns)
        var dcounts_sum_inv = (f.counts * dprobs).sum(1, keepdim: true);
        var dcounts = dprobs * f.counts_sum_inv;
        // counts_sum_inv = counts_sum**-1
        var dcounts_sum = -f.counts_sum.pow(-2) * dcounts_sum_inv;
        // counts_sum = counts.sum(1): the second path into counts
        dcounts = dcounts + dcounts_sum.expand_as(f.counts);
        // counts = norm_logits.exp()
        var dnorm_logits = dcounts * f.counts;
        // norm_logits = logits - logit_maxes
        var dlogit_maxes = -dnorm_logits.sum(1, keepdim: true);
        // logit_maxes = logits.max(1): the second path into logits
        var dlogits = dnorm_logits + F.one_hot(f.logits.argmax(1), f.logits.shape[1]).to_type(f.logits.dtype) * dlogit_maxes;
        // logits = h @ W2 + b2
        var dh = dlogits.matmul(p.W2.t());
        var dW2 = f.h.t().matmul(dlogits);
        var db2 = dlogits.sum(0, keepdim: false);
        // h = tanh(hpreact): (1 - h*h) * dh, with 1 - h*h as one fused multiply-add like libtorch's tanh backward
        var dhpreact = ones_like(f.h).addcmul(f.h, f.h, value: -1.0) * dh;
        // hpreact = bngain * bnraw + bnbias
        var dbngain = (f.bnraw * dhpreact).sum(0, keepdim: true);
        var dbnraw = p.bngain * dhpreact;
        var dbnbias = dhpreact.sum(0, keepdim: true);
        // bnraw = bndiff * bnvar_inv
        var dbndiff = dbnraw * f.bnvar_inv;
        var dbnvar_inv = (f.bndiff * dbnraw).sum(0, keepdim: true);
        // bnvar_inv = (bnvar + eps)**-0.5
        var dbnvar = -0.5 * (f.bnvar + ChunkedForward.BnEps).pow(-1.5) * dbnvar_inv;
        // bnvar = 1/(n-1) * bndiff2.sum(0)
        var dbndiff2 = (1.0 / (n - 1)) * dbnvar.expand_as(f.bndiff2);
        // bndiff2 = bndiff**2: the second path into bndiff
        dbndiff = dbndiff + 2.0 * f.bndiff * dbndiff2;
        // bndiff = hprebn - bnmeani
        var dbnmeani = -dbndiff.sum(0, keepdim: true);
        // bnmeani = 1/n * hprebn.sum(0): the second path into hprebn
        var dhprebn = dbndiff + (1.0 / n) * dbnmeani.expand_as(f.hprebn);
        // hprebn = embcat @ W1 + b1
        var dembcat = dhprebn.matmul(p.W1.t());
        var dW1 = f.embcat.t().matmul(dhprebn);
        var db1 = dhprebn.sum(0, keepdim: false);
        // embcat = emb.view(n, -1)
        var demb = dembcat.view(f.emb.shape);
        // emb = C[Xb]: scatter-add each row back to the character it was looked up for
        var dC = zeros_like(p.C).index_add_(0, Xb.view(-1), demb.view(-1, p.C.shape[1]), 1.0);

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
