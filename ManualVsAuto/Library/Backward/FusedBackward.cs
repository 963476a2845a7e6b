using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Backward;

/// <summary>
/// Exercises 2 and 3: the cross-entropy and batchnorm backward passes derived on paper, one formula each ("fused").
/// The MLP's second of three backward forms, between <see cref="StepByStepBackward"/> and <see cref="LoopStep"/>;
/// FusedTests holds it to the step-by-step chain and to autograd.
/// </summary>
public static class FusedBackward
{
    /// <summary>Exercise 2: d loss / d logits = (softmax(logits) − one_hot(Yb)) / n.</summary>
    public static Tensor CrossEntropy(Tensor logits, Tensor Yb)
    {
        using var _ = no_grad();
        long n = logits.shape[0];
        var dlogits = F.softmax(logits, 1);
        // In place on the fresh softmax: p − 0 and p − 1 round as the indexed subtraction did.
        return dlogits.sub_(F.one_hot(Yb, logits.shape[1])).div_(n);
    }

    /// <summary>
    /// Exercise 3: d loss / d hprebn from d loss / d hpreact, for batchnorm with the unbiased variance:
    /// bngain·bnvar_inv/n · (n·dhpreact − Σ dhpreact − n/(n−1)·bnraw·Σ(dhpreact·bnraw)).
    /// </summary>
    public static Tensor BatchNorm(Tensor dhpreact, Tensor bngain, Tensor bnvar_inv, Tensor bnraw)
    {
        using var _ = no_grad();
        return BatchNorm1d.FusedBackward(dhpreact, bngain, bnvar_inv, bnraw); // the layer's formula, 2-D
    }
}
