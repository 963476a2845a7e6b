using static TorchSharp.torch;

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
            xvar = x.var(dims, unbiased: true, keepdim: true); // batch variance, Bessel-corrected
        }
        var std = (xvar + Eps).sqrt();
        xhat = (x - xmean) / std; // normalise to unit variance
        varInv = std.reciprocal();
        var @out = Gamma.Value * xhat + Beta.Value;
        if (mode == ForwardMode.Train)
        {
            using var _ = no_grad();
            RunningMean.mul_(1 - Momentum).add_(xmean.view(-1) * Momentum);
            RunningVar.mul_(1 - Momentum).add_(xvar.view(-1) * Momentum);
        }
        return @out;
    }

    public override Tensor Backward(Tensor dout)
    {
        var dims = ReducedDims(dout);
        var dbeta = dout.sum(dims, keepdim: false);
        var dgamma = (dout * xhat).sum(dims, keepdim: false);
        Beta.Grad = dbeta.view(Beta.Value.shape);
        Gamma.Grad = dgamma.view(Gamma.Value.shape);
        return FusedBackward(dout, Gamma.Value, varInv, xhat, dbeta, dgamma);
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

    /// <summary>The formula with Σ dout (= dbeta) and Σ(dout·xhat) (= dgamma) already summed; in-place on fresh tensors.</summary>
    private static Tensor FusedBackward(Tensor dout, Tensor gamma, Tensor varInv, Tensor xhat, Tensor dbeta, Tensor dgamma)
    {
        long n = dout.numel() / dout.size(-1);
        var scale = gamma * varInv / n;
        var dvar = xhat.mul(n / (n - 1.0)).mul_(dgamma); // n/(n−1)·xhat·Σ(dout·xhat)
        return dout.mul(n).sub_(dbeta).sub_(dvar).mul_(scale);
    }

    private static long[] ReducedDims(Tensor x) => x.dim() switch
    {
        2 => [0],
        3 => [0, 1],
        _ => throw new ArgumentException($"BatchNorm1d takes (B, C) or (B, T, C) input, got ({string.Join(", ", x.shape)})."),
    };
}
