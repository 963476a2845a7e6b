using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ManualVsAuto.Model;
using static TorchSharp.torch;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace ManualVsAuto.Backward;

/// <summary>The shape of <see cref="LoopStep.Backward"/>, so a test can swap in a broken one.</summary>
public delegate void BackwardPass(MlpParameters p, LoopStepState s, ReadOnlySpan<long> Xb);

/// <summary>
/// Exercise 4's forward and backward with the fused formulas of Exercises 2 and 3, as loops over memory for speed:
/// the MLP's third backward form (after <see cref="StepByStepBackward"/> and <see cref="FusedBackward"/>), held to them
/// and to autograd by LoopStepTests and TrainingStepTests. Each TorchSharp call costs microseconds of interop (the CLI
/// manual's speed section), so libtorch does only the six matmuls (two forward, four backward), each an <c>addmm_</c> into a
/// buffer of <see cref="LoopStepState"/>; everything else — the embedding gather and scatter, batchnorm forward
/// and backward, tanh, softmax/cross-entropy and its gradient (and the trainer's SGD update) — is a loop over the tensors' memory
/// (<see cref="TensorPrimitives"/>, or <see cref="Vector256"/> where one pass over a row does several of the lecture's lines),
/// taken once in the state. Each layer's backward sits beside its forward.
/// </summary>
public static partial class LoopStep
{
    /// <summary>The forward on the minibatch; fills the state's intermediates and returns the mean loss.</summary>
    public static float Forward(MlpParameters p, LoopStepState s, ReadOnlySpan<long> Xb, ReadOnlySpan<long> Yb)
    {
        var m = Memory(p, s);
        // Linear layer 1: emb = C[Xb]; embcat = emb.view(n, -1); hprebn = embcat @ W1 + b1 (b1 added in BatchNormForward)
        EmbeddingForward(m.C, Xb, s.F.embcat, s.NEmbd);
        s.hprebn.addmm_(s.embcat, p.W1, beta: 0, alpha: 1);
        // BatchNorm layer and non-linearity
        BatchNormTanhForward(m, s);
        // Linear layer 2: logits = h @ W2 + b2
        s.logits.addmm_(s.h, p.W2, beta: 0, alpha: 1);
        var logits = s.F.logits;
        AddRowVector(logits, m.b2);
        // Loss function, and its gradient while the softmax is at hand
        return CrossEntropyForwardBackward(logits, Yb, s.F.dlogits);
    }

    /// <summary>The backward from the state <see cref="Forward"/> left: the 7 parameter gradients into <c>s.Grads</c>.</summary>
    public static void Backward(MlpParameters p, LoopStepState s, ReadOnlySpan<long> Xb)
    {
        var m = Memory(p, s);
        var g = s.Grads;
        var dm = s.GradMemory;
        // logits = h @ W2 + b2
        g.W2.addmm_(s.hT, s.dlogits, beta: 0, alpha: 1);
        SumRows(s.F.dlogits, dm.b2);
        s.dh.addmm_(s.dlogits, s.W2T, beta: 0, alpha: 1);
        // h = tanh(hpreact), hpreact = bngain * bnraw + bnbias, batchnorm; and db1 (hprebn = embcat @ W1 + b1)
        BatchNormTanhBackward(m, s);
        // hprebn = embcat @ W1 + b1
        g.W1.addmm_(s.embcatT, s.dhprebn, beta: 0, alpha: 1);
        s.dembcat.addmm_(s.dhprebn, s.W1T, beta: 0, alpha: 1);
        // emb = C[Xb]
        EmbeddingBackward(s.F.dembcat, Xb, dm.C, s.NEmbd);
    }

    private static MlpMemory Memory(MlpParameters p, LoopStepState s) => ReferenceEquals(p, s.Parameters.Tensors)
        ? s.Parameters
        : throw new ArgumentException("the state was made for other parameters: make a LoopStepState for these", nameof(p));

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
            var d = dembcat.Slice(k * nEmbd, nEmbd);
            for (int j = 0; j < row.Length; j++) row[j] += d[j]; // rows of n_embd (10): a call per row costs more
        }
    }

    /// <summary>
    /// hprebn += b1; bnmeani = mean over the batch; bndiff = hprebn − bnmeani; bnvar = Σ bndiff²/(n−1) (Bessel);
    /// bnvar_inv = (bnvar + eps)^−½; bnraw = bndiff·bnvar_inv; hpreact = bngain·bnraw + bnbias; h = tanh(hpreact).
    /// Two passes over the batch: the sums, then the differences and their squares; the last pass writes bnraw and
    /// hpreact (into h, which tanh then overwrites).
    /// </summary>
    private static void BatchNormTanhForward(MlpMemory p, LoopStepState s)
    {
        int n = s.N, nh = s.NHidden;
        var f = s.F;
        Span<float> hprebn = f.hprebn, bnmeani = f.bnmeani, bnvar = f.bnvar, bnvar_inv = f.bnvar_inv, bnraw = f.bnraw, h = f.h;
        ReadOnlySpan<float> b1 = p.b1, bngain = p.bngain, bnbias = p.bnbias;
        for (int i = 0; i < n; i++)
        {
            var row = hprebn.Slice(i * nh, nh);
            if (i == 0) AddTo(row, b1, row, bnmeani, first: true);
            else AddTo(row, b1, row, bnmeani, first: false);
        }
        TensorPrimitives.Multiply(bnmeani, 1f / n, bnmeani);
        for (int i = 0; i < n; i++) SubtractSquare(hprebn.Slice(i * nh, nh), bnmeani, bnraw.Slice(i * nh, nh), bnvar, first: i == 0);
        for (int j = 0; j < nh; j++) bnvar_inv[j] = 1f / MathF.Sqrt(bnvar[j] / (n - 1) + (float)StepByStepForward.BnEps);
        for (int i = 0; i < n; i++) ScaleShift(bnraw.Slice(i * nh, nh), bnvar_inv, bngain, bnbias, h.Slice(i * nh, nh));
        Tanh(h, h);
    }

    /// <summary>
    /// dhpreact = (1 − h²)·dh; dbnbias = Σ dhpreact; dbngain = Σ dhpreact·bnraw; and Exercise 3's fused batchnorm
    /// backward: dhprebn = bngain·bnvar_inv/n · (n·dhpreact − dbnbias − n/(n−1)·bnraw·dbngain); then db1 = Σ dhprebn.
    /// </summary>
    private static void BatchNormTanhBackward(MlpMemory p, LoopStepState s)
    {
        int n = s.N, nh = s.NHidden;
        var f = s.F;
        Span<float> dhpreact = f.dhpreact, dhprebn = f.dhprebn, bnraw = f.bnraw, h = f.h, dh = f.dh;
        Span<float> dbngain = s.GradMemory.bngain, dbnbias = s.GradMemory.bnbias;
        for (int i = 0; i < n; i++)
            TanhBackward(h.Slice(i * nh, nh), dh.Slice(i * nh, nh), bnraw.Slice(i * nh, nh), dhpreact.Slice(i * nh, nh), dbnbias, dbngain, first: i == 0);

        // Per column: scale = bngain·bnvar_inv/n, and the two terms subtracted from n·dhpreact, pre-scaled.
        Span<float> scale = s.bnScale, minusBias = s.bnMinusBias, minusGain = s.bnMinusGain;
        TensorPrimitives.Multiply(p.bngain, f.bnvar_inv, scale);
        TensorPrimitives.Multiply(scale, 1f / n, scale);
        TensorPrimitives.Negate(dbnbias, minusBias);
        TensorPrimitives.Multiply(dbngain, -n / (n - 1f), minusGain);
        var db1 = s.GradMemory.b1;
        for (int i = 0; i < n; i++)
            BatchNormBackwardRow(dhpreact.Slice(i * nh, nh), bnraw.Slice(i * nh, nh), n, minusBias, minusGain, scale, dhprebn.Slice(i * nh, nh), db1, first: i == 0);
    }

    // The row kernels below: one pass over a row of n_hidden, 8 columns at a time, the tail column by column with
    // the same operations in the same order (so every column rounds alike). Products and sums stay separate
    // operations (no fused multiply-add), as TensorPrimitives.MultiplyAdd computes them.

    /// <summary>y = x + v; sum = y (first row) or sum + y.</summary>
    private static void AddTo(ReadOnlySpan<float> x, ReadOnlySpan<float> v, Span<float> y, Span<float> sum, bool first)
    {
        int j = 0;
        for (; j + 8 <= x.Length; j += 8)
        {
            var r = Vector256.Create(x.Slice(j, 8)) + Vector256.Create(v.Slice(j, 8));
            r.CopyTo(y.Slice(j, 8));
            (first ? r : Vector256.Create(sum.Slice(j, 8)) + r).CopyTo(sum.Slice(j, 8));
        }
        for (; j < x.Length; j++)
        {
            float r = x[j] + v[j];
            y[j] = r;
            sum[j] = first ? r : sum[j] + r;
        }
    }

    /// <summary>bndiff = x − mean; bnvar = bndiff² (first row) or bnvar + bndiff².</summary>
    private static void SubtractSquare(ReadOnlySpan<float> x, ReadOnlySpan<float> mean, Span<float> bndiff, Span<float> bnvar, bool first)
    {
        int j = 0;
        for (; j + 8 <= x.Length; j += 8)
        {
            var d = Vector256.Create(x.Slice(j, 8)) - Vector256.Create(mean.Slice(j, 8));
            d.CopyTo(bndiff.Slice(j, 8));
            (first ? d * d : d * d + Vector256.Create(bnvar.Slice(j, 8))).CopyTo(bnvar.Slice(j, 8));
        }
        for (; j < x.Length; j++)
        {
            float d = x[j] - mean[j];
            bndiff[j] = d;
            bnvar[j] = first ? d * d : d * d + bnvar[j];
        }
    }

    /// <summary>bnraw = bndiff·bnvar_inv (in place); hpreact = bngain·bnraw + bnbias.</summary>
    private static void ScaleShift(Span<float> bnraw, ReadOnlySpan<float> bnvar_inv, ReadOnlySpan<float> bngain, ReadOnlySpan<float> bnbias, Span<float> hpreact)
    {
        int j = 0;
        for (; j + 8 <= bnraw.Length; j += 8)
        {
            var r = Vector256.Create(bnraw.Slice(j, 8)) * Vector256.Create(bnvar_inv.Slice(j, 8));
            r.CopyTo(bnraw.Slice(j, 8));
            (r * Vector256.Create(bngain.Slice(j, 8)) + Vector256.Create(bnbias.Slice(j, 8))).CopyTo(hpreact.Slice(j, 8));
        }
        for (; j < bnraw.Length; j++)
        {
            float r = bnraw[j] * bnvar_inv[j];
            bnraw[j] = r;
            hpreact[j] = r * bngain[j] + bnbias[j];
        }
    }

    /// <summary>dhpreact = (1 − h²)·dh; dbnbias = Σ dhpreact; dbngain = Σ dhpreact·bnraw (first row: the terms).</summary>
    private static void TanhBackward(ReadOnlySpan<float> h, ReadOnlySpan<float> dh, ReadOnlySpan<float> bnraw, Span<float> dhpreact,
        Span<float> dbnbias, Span<float> dbngain, bool first)
    {
        int j = 0;
        for (; j + 8 <= h.Length; j += 8)
        {
            var t = Vector256.Create(h.Slice(j, 8));
            var d = (Vector256<float>.One - t * t) * Vector256.Create(dh.Slice(j, 8));
            d.CopyTo(dhpreact.Slice(j, 8));
            var gain = d * Vector256.Create(bnraw.Slice(j, 8));
            (first ? d : Vector256.Create(dbnbias.Slice(j, 8)) + d).CopyTo(dbnbias.Slice(j, 8));
            (first ? gain : gain + Vector256.Create(dbngain.Slice(j, 8))).CopyTo(dbngain.Slice(j, 8));
        }
        for (; j < h.Length; j++)
        {
            float d = (1f - h[j] * h[j]) * dh[j];
            dhpreact[j] = d;
            dbnbias[j] = first ? d : dbnbias[j] + d;
            dbngain[j] = first ? d * bnraw[j] : d * bnraw[j] + dbngain[j];
        }
    }

    /// <summary>dhprebn = scale·((n·dhpreact + minusBias) + bnraw·minusGain); db1 = Σ dhprebn (first row: the row).</summary>
    private static void BatchNormBackwardRow(ReadOnlySpan<float> dhpreact, ReadOnlySpan<float> bnraw, float n, ReadOnlySpan<float> minusBias,
        ReadOnlySpan<float> minusGain, ReadOnlySpan<float> scale, Span<float> dhprebn, Span<float> db1, bool first)
    {
        int j = 0;
        var nv = Vector256.Create(n);
        for (; j + 8 <= dhpreact.Length; j += 8)
        {
            var r = Vector256.Create(dhpreact.Slice(j, 8)) * nv + Vector256.Create(minusBias.Slice(j, 8));
            r = (Vector256.Create(bnraw.Slice(j, 8)) * Vector256.Create(minusGain.Slice(j, 8)) + r) * Vector256.Create(scale.Slice(j, 8));
            r.CopyTo(dhprebn.Slice(j, 8));
            (first ? r : Vector256.Create(db1.Slice(j, 8)) + r).CopyTo(db1.Slice(j, 8));
        }
        for (; j < dhpreact.Length; j++)
        {
            float r = (bnraw[j] * minusGain[j] + (dhpreact[j] * n + minusBias[j])) * scale[j];
            dhprebn[j] = r;
            db1[j] = first ? r : db1[j] + r;
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

    /// <summary>A contiguous int64 CPU tensor's memory (the minibatch's indices).</summary>
    public static ReadOnlySpan<long> Longs(Tensor t) => t.dtype == ScalarType.Int64
        ? MemoryMarshal.Cast<byte, long>(t.bytes)
        : throw new ArgumentException($"expected int64 indices, got {t.dtype}");
}
