using ManualVsAuto.Checking;
using static TorchSharp.torch;

namespace ManualVsAuto.Model;

/// <summary>Every intermediate of the lecture's forward pass, by the lecture's names.</summary>
public sealed record ForwardState(
    Tensor emb, Tensor embcat, Tensor hprebn, Tensor bnmeani, Tensor bndiff, Tensor bndiff2, Tensor bnvar,
    Tensor bnvar_inv, Tensor bnraw, Tensor hpreact, Tensor h, Tensor logits, Tensor logit_maxes,
    Tensor norm_logits, Tensor counts, Tensor counts_sum, Tensor counts_sum_inv, Tensor probs,
    Tensor logprobs, Tensor loss);

/// <summary>The lecture's forward pass, cut into small steps so each one's gradient can be checked.</summary>
public static class ChunkedForward
{
    public const double BnEps = 1e-5;

    /// <summary>
    /// Runs the forward pass, tracking the parameters and every intermediate in <paramref name="check"/>;
    /// without a check (e.g. under no_grad for finite differences) nothing is tracked.
    /// </summary>
    public static ForwardState Run(MlpParameters p, Tensor Xb, Tensor Yb, GradientCheck? check)
    {
        if (check is not null) foreach (var (name, t) in p.Named) check.Track(name, t);
        long n = Yb.shape[0];
        Tensor T(string name, Tensor t) => check is null ? t : check.Track(name, t);

        // Linear layer 1
        var emb = T("emb", p.C.index(Xb));
        var embcat = T("embcat", emb.view(emb.shape[0], -1));
        var hprebn = T("hprebn", embcat.matmul(p.W1) + p.b1);
        // BatchNorm layer
        var bnmeani = T("bnmeani", (1.0 / n) * hprebn.sum(0, keepdim: true));
        var bndiff = T("bndiff", hprebn - bnmeani);
        var bndiff2 = T("bndiff2", bndiff.pow(2));
        var bnvar = T("bnvar", (1.0 / (n - 1)) * bndiff2.sum(0, keepdim: true)); // Bessel's correction
        var bnvar_inv = T("bnvar_inv", (bnvar + BnEps).pow(-0.5));
        var bnraw = T("bnraw", bndiff * bnvar_inv);
        var hpreact = T("hpreact", p.bngain * bnraw + p.bnbias);
        // Non-linearity
        var h = T("h", tanh(hpreact));
        // Linear layer 2
        var logits = T("logits", h.matmul(p.W2) + p.b2);
        // Cross entropy loss, same as F.cross_entropy(logits, Yb)
        var logit_maxes = T("logit_maxes", logits.max(1, keepdim: true).values);
        var norm_logits = T("norm_logits", logits - logit_maxes); // subtract max for numerical stability
        var counts = T("counts", norm_logits.exp());
        var counts_sum = T("counts_sum", counts.sum(1, keepdim: true));
        var counts_sum_inv = T("counts_sum_inv", counts_sum.pow(-1));
        var probs = T("probs", counts * counts_sum_inv);
        var logprobs = T("logprobs", probs.log());
        var loss = T("loss", -logprobs.index(arange(n), Yb).mean());

        return new ForwardState(emb, embcat, hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvar_inv, bnraw, hpreact, h,
            logits, logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs, logprobs, loss);
    }
}
