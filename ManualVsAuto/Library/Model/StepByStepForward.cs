using static TorchSharp.torch;

namespace ManualVsAuto.Model;

/// <summary>Every intermediate of the lecture's forward pass, by the lecture's names.</summary>
public sealed record ForwardState(
    Tensor emb, Tensor embcat, Tensor hprebn, Tensor bnmeani, Tensor bndiff, Tensor bndiff2, Tensor bnvar,
    Tensor bnvar_inv, Tensor bnraw, Tensor hpreact, Tensor h, Tensor logits, Tensor logit_maxes,
    Tensor norm_logits, Tensor counts, Tensor counts_sum, Tensor counts_sum_inv, Tensor probs,
    Tensor logprobs, Tensor loss);

/// <summary>The lecture's forward pass, cut into small steps so each one's gradient can be checked.</summary>
public static class StepByStepForward
{
    public const double BnEps = 1e-5;

    /// <summary>
    /// Runs the forward pass as named steps handed to <paramref name="steps"/> (a gradient check records them, with
    /// their inputs, to track every intermediate and re-evaluate each step's local derivative); without a recorder
    /// (e.g. under no_grad for finite differences) the steps are only evaluated. The parameters come first, as steps
    /// with no inputs.
    /// </summary>
    public static ForwardState Run(MlpParameters p, Tensor Xb, Tensor Yb, IStepRecorder? steps)
    {
        steps ??= new PlainSteps();
        foreach (var (name, t) in p.Named) steps.Step(name, _ => t);
        long n = Yb.shape[0];
        Tensor S(string name, StepFunction f) => steps.Step(name, f);

        // Linear layer 1
        var emb = S("emb", x => x("C").index(Xb));
        var embcat = S("embcat", x => x("emb").view(n, -1));
        var hprebn = S("hprebn", x => x("embcat").matmul(x("W1")) + x("b1"));
        // BatchNorm layer
        var bnmeani = S("bnmeani", x => (1.0 / n) * x("hprebn").sum(0, keepdim: true));
        var bndiff = S("bndiff", x => x("hprebn") - x("bnmeani"));
        var bndiff2 = S("bndiff2", x => x("bndiff").pow(2));
        var bnvar = S("bnvar", x => (1.0 / (n - 1)) * x("bndiff2").sum(0, keepdim: true)); // Bessel's correction
        var bnvar_inv = S("bnvar_inv", x => (x("bnvar") + BnEps).pow(-0.5));
        var bnraw = S("bnraw", x => x("bndiff") * x("bnvar_inv"));
        var hpreact = S("hpreact", x => x("bngain") * x("bnraw") + x("bnbias"));
        // Non-linearity
        var h = S("h", x => tanh(x("hpreact")));
        // Linear layer 2
        var logits = S("logits", x => x("h").matmul(x("W2")) + x("b2"));
        // Cross entropy loss, same as F.cross_entropy(logits, Yb)
        var logit_maxes = S("logit_maxes", x => x("logits").max(1, keepdim: true).values);
        var norm_logits = S("norm_logits", x => x("logits") - x("logit_maxes")); // subtract max for numerical stability
        var counts = S("counts", x => x("norm_logits").exp());
        var counts_sum = S("counts_sum", x => x("counts").sum(1, keepdim: true));
        var counts_sum_inv = S("counts_sum_inv", x => x("counts_sum").pow(-1));
        var probs = S("probs", x => x("counts") * x("counts_sum_inv"));
        var logprobs = S("logprobs", x => x("probs").log());
        var loss = S("loss", x => -x("logprobs").index(arange(n), Yb).mean());

        return new ForwardState(emb, embcat, hprebn, bnmeani, bndiff, bndiff2, bnvar, bnvar_inv, bnraw, hpreact, h,
            logits, logit_maxes, norm_logits, counts, counts_sum, counts_sum_inv, probs, logprobs, loss);
    }
}
