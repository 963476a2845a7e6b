using System.Numerics;
using System.Runtime.InteropServices;
using static TorchSharp.torch;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace ManualVsAuto.Model.Layers;

/// <summary>
/// Part 3's batchnorm, with part 5's fix: a 2-D input (B, C) is normalised over dim 0, a 3-D input (B, T, C)
/// over dims 0 and 1 (n = B·T). Like the lecture (and unlike PyTorch's BatchNorm1d) it divides by the unbiased
/// batch variance. In <see cref="ForwardMode.Train"/> the running mean and variance move with
/// <c>running = (1 − momentum)·running + momentum·batch</c>; <see cref="ForwardMode.Eval"/> normalises with them.
/// </summary>
public sealed class BatchNorm1d : Layer
{
    private Tensor xhat = null!, varInv = null!;

    public BatchNorm1d(long dim, double eps = 1e-5, double momentum = 0.1) : this(ones(dim), zeros(dim), eps, momentum)
    {
    }

    /// <summary>A layer over given gamma and beta (the MLP's bngain, bnbias), not copies: it owns them from here on.
    /// They may be (C) or, as the lecture's MLP has them, (1, C); their gradients keep that shape.</summary>
    public BatchNorm1d(Tensor gamma, Tensor beta, double eps = 1e-5, double momentum = 0.1)
    {
        Eps = eps;
        Momentum = momentum;
        Gamma = new LayerParameter("gamma", Keep(gamma));
        Beta = new LayerParameter("beta", Keep(beta));
        long dim = gamma.size(-1);
        RunningMean = Keep(zeros(dim, dtype: gamma.dtype));
        RunningVar = Keep(ones(dim, dtype: gamma.dtype));
    }

    public double Eps { get; }
    public double Momentum { get; }
    public LayerParameter Gamma { get; }
    public LayerParameter Beta { get; }
    public Tensor RunningMean { get; }
    public Tensor RunningVar { get; }

    /// <summary>The last forward's normalised input (the lecture's bnraw), kept for the backward.</summary>
    public Tensor Xhat => xhat;

    /// <summary>The last forward's <c>1/√(var + eps)</c> (the lecture's bnvar_inv), kept for the backward.</summary>
    public Tensor VarInv => varInv;

    public override IReadOnlyList<LayerParameter> Parameters => [Gamma, Beta];

    /// <summary>No: dx is Exercise 3's one formula, which rounds differently from autograd's chain through mean and var.</summary>
    public override bool ExactBackward => false;

    public override IReadOnlyList<(string Name, Tensor Tensor)> Buffers => [("running_mean", RunningMean), ("running_var", RunningVar)];

    public override Tensor Forward(Tensor x, ForwardMode mode)
    {
        Tensor xmean, xvar;
        if (mode == ForwardMode.Eval)
        {
            xmean = RunningMean;
            xvar = RunningVar;
        }
        else
        {
            var dims = ReducedDims(x);
            xmean = x.mean(dims, keepdim: true);         // batch mean
            xvar = BatchVariance(x, dims); // batch variance, Bessel-corrected
        }
        var std = (xvar + Eps).sqrt();
        xhat = (x - xmean) / std; // normalise to unit variance
        varInv = std.reciprocal();
        var @out = Gamma.Value * xhat + Beta.Value;
        if (mode == ForwardMode.Train)
        {
            MoveRunning(RunningMean, xmean);
            MoveRunning(RunningVar, xvar);
        }
        return @out;
    }

    /// <summary><c>running.mul_(1 − momentum).add_(momentum·batch)</c> in one loop over C floats, each product and the
    /// sum rounded to float32 as those libtorch ops round them, in one call instead of eight. A float64 batch (float64 copies of
    /// the parameters) is rounded to float32 first.</summary>
    private void MoveRunning(Tensor running, Tensor batch)
    {
        using var _ = no_grad();
        var b = batch.dtype == ScalarType.Float32 ? batch.contiguous() : batch.to_type(ScalarType.Float32);
        var r = MemoryMarshal.Cast<byte, float>(running.bytes);
        TensorPrimitives.Multiply(r, (float)(1 - Momentum), r);
        Span<float> moved = r.Length <= 1024 ? stackalloc float[r.Length] : new float[r.Length]; // a wide layer's would overflow the stack
        TensorPrimitives.Multiply(MemoryMarshal.Cast<byte, float>(b.bytes), (float)Momentum, moved);
        TensorPrimitives.Add(r, moved, r);
    }

    public override Tensor Backward(Tensor dout)
    {
        var dims = ReducedDims(dout);
        var dbeta = dout.sum(dims, keepdim: false);
        var dgamma = (dout * xhat).sum(dims, keepdim: false);
        Beta.Grad = dbeta.view(Beta.Value.shape);
        Gamma.Grad = dgamma.view(Gamma.Value.shape);
        var dx = FusedBackward(dout, Gamma.Value, varInv, xhat, dbeta, dgamma);
        return dx;
    }

    /// <summary>
    /// Exercise 3's fused batchnorm backward, generalised from (B, C) to (B, T, C) by reducing over every dimension
    /// but the last (n = their product): <c>gamma·var_inv/n · (n·dout − Σ dout − n/(n−1)·xhat·Σ(dout·xhat))</c>.
    /// Approximate by construction: it rounds differently from autograd's chain through mean, var and sqrt.
    /// </summary>
    public static Tensor FusedBackward(Tensor dout, Tensor gamma, Tensor varInv, Tensor xhat)
    {
        var dims = ReducedDims(dout);
        return FusedBackward(dout, gamma, varInv, xhat, dout.sum(dims, keepdim: false), (dout * xhat).sum(dims, keepdim: false));
    }

    /// <summary>The formula with Σ dout (= dbeta) and Σ(dout·xhat) (= dgamma) already summed, the 1/n moved inside:
    /// <c>gamma·var_inv · (dout − Σ dout/n − xhat·Σ(dout·xhat)/(n−1))</c>, three ops on one fresh tensor.</summary>
    private static Tensor FusedBackward(Tensor dout, Tensor gamma, Tensor varInv, Tensor xhat, Tensor dbeta, Tensor dgamma)
    {
        long n = dout.numel() / dout.size(-1);
        return dout.add(dbeta, alpha: -1.0 / n).addcmul_(xhat, dgamma, value: -1.0 / (n - 1)).mul_(gamma * varInv);
    }

    /// <summary>
    /// <c>x.var(dims, unbiased: true, keepdim: true)</c>, bit for bit: libtorch's CPU kernel runs Welford's algorithm
    /// in double, row by row, one scalar division per element; the same arithmetic vectorised over the channels is
    /// several times faster. Only for float32 or float64 input that needs no graph (the manual
    /// backward, checks and finite differences that only look); autograd's graph needs libtorch's own <c>var</c>.
    /// </summary>
    private static Tensor BatchVariance(Tensor x, long[] dims)
    {
        // From 32,768 rows on (libtorch's grain size) libtorch may split the reduction across threads and merge the parts.
        if (x.requires_grad || x.device_type != TorchSharp.DeviceType.CPU || !x.is_contiguous() || x.numel() / x.size(-1) >= 32_768)
            return x.var(dims, unbiased: true, keepdim: true);
        return x.dtype switch
        {
            ScalarType.Float32 => BatchVariance<float>(x, dims),
            ScalarType.Float64 => BatchVariance<double>(x, dims),
            _ => x.var(dims, unbiased: true, keepdim: true),
        };
    }

    private static Tensor BatchVariance<T>(Tensor x, long[] dims) where T : unmanaged, INumberBase<T>
    {
        int c = (int)x.size(-1);
        long rows = x.numel() / c;
        var xs = MemoryMarshal.Cast<byte, T>(x.bytes);
        Span<double> work = c <= 512 ? stackalloc double[5 * c] : new double[5 * c];
        work.Clear();
        Span<double> mean = work[..c], m2 = work.Slice(c, c), xi = work.Slice(2 * c, c), delta = work.Slice(3 * c, c), t = work[(4 * c)..];
        for (int i = 0; i < rows; i++)
        {
            TensorPrimitives.ConvertChecked<T, double>(xs.Slice(i * c, c), xi);
            TensorPrimitives.Subtract(xi, mean, delta);               // delta = x − mean
            TensorPrimitives.Divide(delta, i + 1.0, t);
            TensorPrimitives.Add(mean, t, mean);                      // mean += delta / n
            TensorPrimitives.Subtract(xi, mean, t);
            TensorPrimitives.FusedMultiplyAdd(delta, t, m2, m2);      // m2 += delta·(x − mean), one rounding, as libtorch's build
        }
        TensorPrimitives.Divide(m2, rows - 1.0, t);
        var xvar = empty(dims.Length == 2 ? [1, 1, c] : [1, c], dtype: x.dtype);
        TensorPrimitives.ConvertTruncating<double, T>(t, MemoryMarshal.Cast<byte, T>(xvar.bytes)); // to float32: round to nearest
        return xvar;
    }

    private static long[] ReducedDims(Tensor x) => x.dim() switch
    {
        2 => [0],
        3 => [0, 1],
        _ => throw new ArgumentException($"BatchNorm1d takes (B, C) or (B, T, C) input, got ({string.Join(", ", x.shape)})."),
    };
}
