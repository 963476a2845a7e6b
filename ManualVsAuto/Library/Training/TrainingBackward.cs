using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>The shape of <see cref="TrainingBackward.Apply"/>.</summary>
public delegate void BackwardPass(MlpParameters p, TrainingForwardState f, Tensor Xb, Tensor Yb, MlpParameters targets, BatchConstants k, StepScale s);

/// <summary>
/// Exercise 4's manual backward: dlogits (fused cross-entropy), the second linear layer, tanh, fused batchnorm,
/// the first linear layer and the embedding. Each parameter gradient goes straight into <c>target += scale·grad</c>
/// with the op that produces it (addmm_, addmv_, index_add_, add_ with alpha): with the parameters as targets and
/// scale = −lr that is the SGD update itself, one op per parameter and no gradient tensors; with zeroed targets and
/// scale = 1 it yields the plain gradients, from the same code, for checking against autograd.
/// </summary>
public static class TrainingBackward
{
    /// <summary>Runs the backward; <paramref name="targets"/> may be <paramref name="p"/> itself (the update then
    /// happens in place, each parameter written only after its last read).</summary>
    public static void Apply(MlpParameters p, TrainingForwardState f, Tensor Xb, Tensor Yb, MlpParameters targets, BatchConstants k, StepScale s)
    {
        // Every gradient below is n times the true one until the scale: alpha = scale/n folds the mean's 1/n in.
        // dlogits = softmax(logits) - one_hot(Yb)   (Exercise 2, times n)
        var dlogits = f.logits.softmax(1);
        dlogits.index_put_(k.MinusOnes, [k.Rows, Yb], accumulate: true);
        // logits = h @ W2 + b2
        var dh = dlogits.mm(k.W2T); // read W2 before it is updated
        targets.W2.addmm_(f.h.t(), dlogits, beta: 1, alpha: s.AlphaF);
        targets.b2.addmv_(dlogits.t(), k.Ones, beta: 1, alpha: s.AlphaF);
        // h = tanh(hpreact): dhpreact = (1 - h²)·dh
        var dhpreact = k.OnesNH.addcmul(f.h, f.h, k.MinusOne).mul_(dh);
        // hpreact = bngain * bnraw + bnbias
        var dbnbias = dhpreact.sum(0, keepdim: false);          // Σ dhpreact
        var dbngain = linalg.vecdot(dhpreact, f.bnraw, dim: 0); // Σ dhpreact·bnraw
        // Fused batchnorm (Exercise 3, unbiased variance), times n:
        // dhprebn = bngain·bnvar_inv · (dhpreact − Σdhpreact/n − bnraw·Σ(dhpreact·bnraw)/(n−1))
        var dhprebn = dhpreact.add(dbnbias, k.MinusInvN).addcmul_(f.bnraw, dbngain, k.MinusInvNm1)
            .mul_(p.bngain.mul(f.bnvar_inv)); // read bngain before it is updated
        targets.bngain.add_(dbngain, s.Alpha);
        targets.bnbias.add_(dbnbias, s.Alpha);
        // hprebn = embcat @ W1 + b1
        var dembcat = dhprebn.mm(k.W1T); // read W1 before it is updated
        targets.W1.addmm_(f.embcat.t(), dhprebn, beta: 1, alpha: s.AlphaF);
        targets.b1.addmv_(dhprebn.t(), k.Ones, beta: 1, alpha: s.AlphaF);
        // emb = C[Xb]: scatter-add each row of dembcat back to the character it was looked up for
        targets.C.index_add_(0, Xb.view(-1), dembcat.view(-1, k.NEmbd), s.Alpha);
    }
}
