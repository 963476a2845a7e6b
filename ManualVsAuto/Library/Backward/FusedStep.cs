using System.Runtime.InteropServices;
using ManualVsAuto.Model;
using static TorchSharp.torch;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace ManualVsAuto.Backward;

/// <summary>The shape of <see cref="FusedStep.Backward"/>, so a test can swap in a broken one.</summary>
public delegate void BackwardPass(MlpParameters p, FusedStepState s, ReadOnlySpan<long> Xb);

/// <summary>
/// Exercise 4's forward and backward with the fused formulas of Exercises 2 and 3 (not the step-by-step chain of
/// <see cref="ChainBackward"/>, which it is tested against, as against autograd), built for speed: a step costs ≈ 35
/// TorchSharp calls at 2–4 µs each when written with tensor ops, while its elementwise arithmetic takes well under a microsecond in
/// SIMD C#. So libtorch does only the six matmuls (two forward, four backward), each an <c>addmm_</c> into a
/// buffer of <see cref="FusedStepState"/>; everything else — the embedding gather and scatter, batchnorm forward
/// and backward, tanh, softmax/cross-entropy and its gradient (and the trainer's SGD update) — is a loop over the tensors' memory
/// (<see cref="TensorPrimitives"/>). Each layer's backward sits beside its forward.
/// </summary>
public static class FusedStep
{
    /// <summary>The forward on the minibatch; fills the state's intermediates and returns the mean loss.</summary>
    public static float Forward(MlpParameters p, FusedStepState s, ReadOnlySpan<long> Xb, ReadOnlySpan<long> Yb)
    {
        // Linear layer 1: emb = C[Xb]; embcat = emb.view(n, -1); hprebn = embcat @ W1 + b1 (b1 added in BatchNormForward)
        EmbeddingForward(F(p.C), Xb, F(s.embcat), s.NEmbd);
        s.hprebn.addmm_(s.embcat, p.W1, beta: 0, alpha: 1);
        // BatchNorm layer and non-linearity
        BatchNormTanhForward(p, s);
        // Linear layer 2: logits = h @ W2 + b2
        s.logits.addmm_(s.h, p.W2, beta: 0, alpha: 1);
        AddRowVector(F(s.logits), F(p.b2));
        // Loss function, and its gradient while the softmax is at hand
        return CrossEntropyForwardBackward(F(s.logits), Yb, F(s.dlogits));
    }

    /// <summary>The backward from the state <see cref="Forward"/> left: the 7 parameter gradients into <c>s.Grads</c>.</summary>
    public static void Backward(MlpParameters p, FusedStepState s, ReadOnlySpan<long> Xb)
    {
        var g = s.Grads;
        // logits = h @ W2 + b2
        g.W2.addmm_(s.hT, s.dlogits, beta: 0, alpha: 1);
        SumRows(F(s.dlogits), F(g.b2));
        s.dh.addmm_(s.dlogits, s.W2T, beta: 0, alpha: 1);
        // h = tanh(hpreact), hpreact = bngain * bnraw + bnbias, batchnorm
        BatchNormTanhBackward(p, s);
        // hprebn = embcat @ W1 + b1
        g.W1.addmm_(s.embcatT, s.dhprebn, beta: 0, alpha: 1);
        SumRows(F(s.dhprebn), F(g.b1));
        s.dembcat.addmm_(s.dhprebn, s.W1T, beta: 0, alpha: 1);
        // emb = C[Xb]
        EmbeddingBackward(F(s.dembcat), Xb, F(g.C), s.NEmbd);
    }

    /// <summary><c>emb = C[Xb]</c>, written straight into <c>embcat</c>'s (n, block_size·n_embd) layout.</summary>
    private static void EmbeddingForward(ReadOnlySpan<float> C, ReadOnlySpan<long> Xb, Span<float> embcat, int nEmbd)
    {
        for (int k = 0; k < Xb.Length; k++) C.Slice((int)Xb[k] * nEmbd, nEmbd).CopyTo(embcat.Slice(k * nEmbd, nEmbd));
    }

    /// <summary>dC: each slice of dembcat added back to the row of C it was looked up from.</summary>
    private static void EmbeddingBackward(ReadOnlySpan<float> dembcat, ReadOnlySpan<long> Xb, Span<float> dC, int nEmbd)
    {
        dC.Clear();
        for (int k = 0; k < Xb.Length; k++)
        {
            var row = dC.Slice((int)Xb[k] * nEmbd, nEmbd);
            TensorPrimitives.Add(row, dembcat.Slice(k * nEmbd, nEmbd), row);
        }
    }

    /// <summary>
    /// hprebn += b1; bnmeani = mean over the batch; bndiff = hprebn − bnmeani; bnvar = Σ bndiff²/(n−1) (Bessel);
    /// bnvar_inv = (bnvar + eps)^−½; bnraw = bndiff·bnvar_inv; hpreact = bngain·bnraw + bnbias; h = tanh(hpreact).
    /// </summary>
    private static void BatchNormTanhForward(MlpParameters p, FusedStepState s)
    {
        int n = s.N, nh = s.NHidden;
        Span<float> hprebn = F(s.hprebn), bnmeani = F(s.bnmeani), bnvar = F(s.bnvar), bnvar_inv = F(s.bnvar_inv);
        Span<float> bnraw = F(s.bnraw), h = F(s.h);
        AddRowVector(hprebn, F(p.b1));
        SumRows(hprebn, bnmeani);
        TensorPrimitives.Multiply(bnmeani, 1f / n, bnmeani);
        bnvar.Clear();
        for (int i = 0; i < n; i++)
        {
            var bndiff = bnraw.Slice(i * nh, nh); // bnraw holds bndiff until it is scaled below
            TensorPrimitives.Subtract(hprebn.Slice(i * nh, nh), bnmeani, bndiff);
            TensorPrimitives.MultiplyAdd(bndiff, bndiff, bnvar, bnvar);
        }
        for (int j = 0; j < nh; j++) bnvar_inv[j] = 1f / MathF.Sqrt(bnvar[j] / (n - 1) + (float)ChunkedForward.BnEps);
        ReadOnlySpan<float> bngain = F(p.bngain), bnbias = F(p.bnbias);
        for (int i = 0; i < n; i++)
        {
            var row = bnraw.Slice(i * nh, nh);
            TensorPrimitives.Multiply(row, bnvar_inv, row);
            TensorPrimitives.MultiplyAdd(row, bngain, bnbias, h.Slice(i * nh, nh)); // hpreact
        }
        TensorPrimitives.Tanh(h, h);
    }

    /// <summary>
    /// dhpreact = (1 − h²)·dh; dbnbias = Σ dhpreact; dbngain = Σ dhpreact·bnraw; and Exercise 3's fused batchnorm
    /// backward: dhprebn = bngain·bnvar_inv/n · (n·dhpreact − dbnbias − n/(n−1)·bnraw·dbngain).
    /// </summary>
    private static void BatchNormTanhBackward(MlpParameters p, FusedStepState s)
    {
        int n = s.N, nh = s.NHidden;
        Span<float> dhpreact = F(s.dhpreact), dhprebn = F(s.dhprebn), bnraw = F(s.bnraw);
        Span<float> dbngain = F(s.Grads.bngain), dbnbias = F(s.Grads.bnbias);
        TensorPrimitives.Multiply(F(s.h), F(s.h), dhpreact);
        TensorPrimitives.Subtract(1f, dhpreact, dhpreact);
        TensorPrimitives.Multiply(dhpreact, F(s.dh), dhpreact);
        SumRows(dhpreact, dbnbias);
        dbngain.Clear();
        for (int i = 0; i < n; i++) TensorPrimitives.MultiplyAdd(dhpreact.Slice(i * nh, nh), bnraw.Slice(i * nh, nh), dbngain, dbngain);

        // Per column: scale = bngain·bnvar_inv/n, and the two terms subtracted from n·dhpreact, pre-scaled.
        Span<float> scale = s.bnScale, minusBias = s.bnMinusBias, minusGain = s.bnMinusGain;
        TensorPrimitives.Multiply(F(p.bngain), F(s.bnvar_inv), scale);
        TensorPrimitives.Multiply(scale, 1f / n, scale);
        TensorPrimitives.Negate(dbnbias, minusBias);
        TensorPrimitives.Multiply(dbngain, -n / (n - 1f), minusGain);
        for (int i = 0; i < n; i++)
        {
            var row = dhprebn.Slice(i * nh, nh);
            TensorPrimitives.MultiplyAdd(dhpreact.Slice(i * nh, nh), (float)n, minusBias, row);
            TensorPrimitives.MultiplyAdd(bnraw.Slice(i * nh, nh), minusGain, row, row);
            TensorPrimitives.Multiply(row, scale, row);
        }
    }

    /// <summary>
    /// <c>F.cross_entropy(logits, Yb)</c> and Exercise 2's dlogits = (softmax(logits) − one_hot(Yb))/n, row by row:
    /// loss_i = log Σ exp(logits_i − max) + max − logits_i[y].
    /// </summary>
    private static float CrossEntropyForwardBackward(ReadOnlySpan<float> logits, ReadOnlySpan<long> Yb, Span<float> dlogits)
    {
        int n = Yb.Length, v = logits.Length / n;
        double loss = 0;
        for (int i = 0; i < n; i++)
        {
            var row = logits.Slice(i * v, v);
            var d = dlogits.Slice(i * v, v);
            float max = TensorPrimitives.Max(row);
            TensorPrimitives.Subtract(row, max, d);
            TensorPrimitives.Exp(d, d);
            float sum = TensorPrimitives.Sum(d);
            int y = (int)Yb[i];
            loss += Math.Log(sum) + max - row[y];
            TensorPrimitives.Multiply(d, 1f / (sum * n), d);
            d[y] -= 1f / n;
        }
        return (float)(loss / n);
    }

    /// <summary>Adds a (cols) vector to every row of a (rows, cols) matrix.</summary>
    private static void AddRowVector(Span<float> m, ReadOnlySpan<float> v)
    {
        for (int i = 0; i < m.Length; i += v.Length) TensorPrimitives.Add(m.Slice(i, v.Length), v, m.Slice(i, v.Length));
    }

    /// <summary>sum = Σ over the rows of a (rows, cols) matrix.</summary>
    private static void SumRows(ReadOnlySpan<float> m, Span<float> sum)
    {
        m[..sum.Length].CopyTo(sum);
        for (int i = sum.Length; i < m.Length; i += sum.Length) TensorPrimitives.Add(sum, m.Slice(i, sum.Length), sum);
    }

    private static Span<float> F(Tensor t) => FusedStepState.Floats(t);

    /// <summary>A contiguous int64 CPU tensor's memory (the minibatch's indices).</summary>
    public static ReadOnlySpan<long> Longs(Tensor t) => t.dtype == ScalarType.Int64
        ? MemoryMarshal.Cast<byte, long>(t.bytes)
        : throw new ArgumentException($"expected int64 indices, got {t.dtype}");
}
