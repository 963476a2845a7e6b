using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>
/// Exercise 1: the 26 gradients of the lecture's chunked forward (<see cref="Model.StepByStepForward"/>), one method each,
/// in the lecture's order. The parameters are what the line may use: forward tensors by their lecture names and the
/// gradients of the tensors computed from it (d&lt;name&gt;). The grader hands in autograd's upstream gradients, so
/// each method is judged on its own; the chained grade hands in your own. Every argument is a copy: change it freely.
/// </summary>
public interface IExercise1
{
    /// <summary>loss = -logprobs[range(n), Yb].mean()</summary>
    Tensor dlogprobs(Tensor logprobs, Tensor Yb, long n);

    /// <summary>logprobs = probs.log()</summary>
    Tensor dprobs(Tensor dlogprobs, Tensor probs);

    /// <summary>probs = counts * counts_sum_inv</summary>
    Tensor dcounts_sum_inv(Tensor dprobs, Tensor counts);

    /// <summary>counts_sum_inv = counts_sum.pow(-1)</summary>
    Tensor dcounts_sum(Tensor dcounts_sum_inv, Tensor counts_sum);

    /// <summary>probs = counts * counts_sum_inv; counts_sum = counts.sum(1, keepdim: true)</summary>
    Tensor dcounts(Tensor dprobs, Tensor counts_sum_inv, Tensor dcounts_sum, Tensor counts);

    /// <summary>counts = norm_logits.exp()</summary>
    Tensor dnorm_logits(Tensor dcounts, Tensor counts);

    /// <summary>norm_logits = logits - logit_maxes</summary>
    Tensor dlogit_maxes(Tensor dnorm_logits);

    /// <summary>norm_logits = logits - logit_maxes; logit_maxes = logits.max(1, keepdim: true).values</summary>
    Tensor dlogits(Tensor dnorm_logits, Tensor dlogit_maxes, Tensor logits);

    /// <summary>logits = h.matmul(W2) + b2</summary>
    Tensor dh(Tensor dlogits, Tensor W2);

    /// <summary>logits = h.matmul(W2) + b2</summary>
    Tensor dW2(Tensor dlogits, Tensor h);

    /// <summary>logits = h.matmul(W2) + b2</summary>
    Tensor db2(Tensor dlogits);

    /// <summary>h = tanh(hpreact)</summary>
    Tensor dhpreact(Tensor dh, Tensor h);

    /// <summary>hpreact = bngain * bnraw + bnbias</summary>
    Tensor dbngain(Tensor dhpreact, Tensor bnraw);

    /// <summary>hpreact = bngain * bnraw + bnbias</summary>
    Tensor dbnbias(Tensor dhpreact);

    /// <summary>hpreact = bngain * bnraw + bnbias</summary>
    Tensor dbnraw(Tensor dhpreact, Tensor bngain);

    /// <summary>bnraw = bndiff * bnvar_inv</summary>
    Tensor dbnvar_inv(Tensor dbnraw, Tensor bndiff);

    /// <summary>bnvar_inv = (bnvar + eps).pow(-0.5)</summary>
    Tensor dbnvar(Tensor dbnvar_inv, Tensor bnvar, double eps);

    /// <summary>bnvar = 1/(n-1) * bndiff2.sum(0, keepdim: true)</summary>
    Tensor dbndiff2(Tensor dbnvar, Tensor bndiff2, long n);

    /// <summary>bnraw = bndiff * bnvar_inv; bndiff2 = bndiff.pow(2)</summary>
    Tensor dbndiff(Tensor dbnraw, Tensor bnvar_inv, Tensor dbndiff2, Tensor bndiff);

    /// <summary>bndiff = hprebn - bnmeani</summary>
    Tensor dbnmeani(Tensor dbndiff);

    /// <summary>bndiff = hprebn - bnmeani; bnmeani = 1/n * hprebn.sum(0, keepdim: true)</summary>
    Tensor dhprebn(Tensor dbndiff, Tensor dbnmeani, Tensor hprebn, long n);

    /// <summary>hprebn = embcat.matmul(W1) + b1</summary>
    Tensor dembcat(Tensor dhprebn, Tensor W1);

    /// <summary>hprebn = embcat.matmul(W1) + b1</summary>
    Tensor dW1(Tensor dhprebn, Tensor embcat);

    /// <summary>hprebn = embcat.matmul(W1) + b1</summary>
    Tensor db1(Tensor dhprebn);

    /// <summary>embcat = emb.view(emb.shape[0], -1)</summary>
    Tensor demb(Tensor dembcat, Tensor emb);

    /// <summary>emb = C[Xb]</summary>
    Tensor dC(Tensor demb, Tensor C, Tensor Xb);
}
