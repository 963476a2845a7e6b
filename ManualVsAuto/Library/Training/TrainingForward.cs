using System.Collections.Concurrent;
using ManualVsAuto.Model;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Training;

/// <summary>The intermediates of the Exercise-4 forward, by the lecture's names.</summary>
public sealed record TrainingForwardState(Tensor embcat, Tensor bnvar_inv, Tensor bnraw, Tensor h, Tensor logits, Tensor loss);

/// <summary>
/// Exercise 4's forward with tensor ops, for autograd: batch mean, unbiased batch variance, <c>cross_entropy</c>.
/// The autograd trainer's forward and <c>--verify-every</c>'s reference (the manual step has its own, in
/// <see cref="ManualStep"/>). Each line is one fused libtorch op where one exists, because here the cost is per op
/// (a few µs each), not per element: the autograd baseline gets the same care as the manual step.
/// </summary>
public static class TrainingForward
{
    private static readonly long[] Dim0 = [0];
    private static readonly Scalar Eps = ChunkedForward.BnEps.ToScalar();
    private static readonly Scalar One = 1.0.ToScalar();
    private static readonly ConcurrentDictionary<long, Scalar> Bessel = new(); // 1/(n−1) per batch size

    public static TrainingForwardState Run(MlpParameters p, Tensor Xb, Tensor Yb)
    {
        long n = Xb.size(0);
        // Linear layer 1: emb = C[Xb]; embcat = emb.view(n, -1); hprebn = embcat @ W1 + b1 (one addmm)
        var embcat = p.C.index_select(0, Xb.view(-1)).view(n, -1);
        var hprebn = p.b1.addmm(embcat, p.W1);
        // BatchNorm layer: batch mean, unbiased batch variance. The variance is summed from bndiff as in the chunked
        // forward: libtorch's var()/var_mean() reduce with Welford's algorithm, ~30x slower (70 µs) at this shape.
        var bnmeani = hprebn.mean(Dim0, keepdim: true);
        var bndiff = hprebn.sub(bnmeani);
        var bnvar = linalg.vecdot(bndiff, bndiff, dim: 0).mul(Bessel.GetOrAdd(n, m => (1.0 / (m - 1)).ToScalar())); // Σ bndiff²/(n−1)
        var bnvar_inv = bnvar.add_(Eps).rsqrt_(); // (bnvar + eps)**-0.5
        var bnraw = bndiff.mul(bnvar_inv);
        var hpreact = p.bnbias.addcmul(p.bngain, bnraw, One); // bngain * bnraw + bnbias
        // Non-linearity
        var h = hpreact.tanh();
        // Linear layer 2
        var logits = p.b2.addmm(h, p.W2);
        // Loss function
        var loss = F.cross_entropy(logits, Yb);
        return new TrainingForwardState(embcat, bnvar_inv, bnraw, h, logits, loss);
    }
}
