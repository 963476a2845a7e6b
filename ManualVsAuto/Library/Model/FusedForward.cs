using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Model;

/// <summary>The fused forward expressions of Exercises 2 and 3, checked against the step-by-step ones (<see cref="StepByStepForward"/>).</summary>
public static class FusedForward
{
    /// <summary>Exercise 2: the loss in one call.</summary>
    public static Tensor Loss(Tensor logits, Tensor Yb) => F.cross_entropy(logits, Yb);

    /// <summary>Exercise 3: batchnorm in one line, with the unbiased (Bessel) variance as in the lecture.</summary>
    public static Tensor BatchNorm(Tensor hprebn, Tensor bngain, Tensor bnbias) =>
        bngain * (hprebn - hprebn.mean([0], keepdim: true))
            / (hprebn.var(0, unbiased: true, keepdim: true) + StepByStepForward.BnEps).sqrt() + bnbias;
}
