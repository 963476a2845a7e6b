using ManualVsAuto.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>
/// What the manual backward needs that does not change from step to step, made once: index and ones tensors,
/// the transposed weights (views, so they follow the in-place updates) and the scalars (each TorchSharp
/// <see cref="Scalar"/> made on the fly is a native allocation).
/// </summary>
public sealed class BatchConstants : IDisposable
{
    public BatchConstants(MlpParameters p, long n)
    {
        if (n < 2) throw new ArgumentOutOfRangeException(nameof(n), n, "the batch variance divides by n-1: n must be at least 2");
        N = n;
        var dtype = p.W1.dtype;
        NEmbd = p.C.size(1);
        Rows = arange(n);
        MinusOnes = full([n], -1.0, dtype: dtype);
        Ones = ones([n], dtype: dtype);
        OnesNH = ones([n, p.W1.size(1)], dtype: dtype);
        W1T = p.W1.t();
        W2T = p.W2.t();
        foreach (var t in new[] { Rows, MinusOnes, Ones, OnesNH, W1T, W2T }) t.DetachFromDisposeScope();
        MinusOne = (-1.0).ToScalar();
        MinusInvN = (-1.0 / n).ToScalar();
        MinusInvNm1 = (-1.0 / (n - 1)).ToScalar();
    }

    public long N { get; }
    public long NEmbd { get; }
    public Tensor Rows { get; }
    public Tensor MinusOnes { get; }
    public Tensor Ones { get; }
    public Tensor OnesNH { get; }
    public Tensor W1T { get; }
    public Tensor W2T { get; }
    public Scalar MinusOne { get; }
    public Scalar MinusInvN { get; }
    public Scalar MinusInvNm1 { get; }

    public void Dispose()
    {
        foreach (var t in new[] { Rows, MinusOnes, Ones, OnesNH, W1T, W2T }) t.Dispose();
        foreach (var s in new[] { MinusOne, MinusInvN, MinusInvNm1 }) s.Dispose();
    }
}

/// <summary>The <c>scale/n</c> every gradient is added with (see <see cref="TrainingBackward"/>), as a Scalar and a float.</summary>
public sealed class StepScale(double scale, long n) : IDisposable
{
    public double Scale { get; } = scale;
    public long N { get; } = n;
    public Scalar Alpha { get; } = (scale / n).ToScalar();
    public float AlphaF { get; } = (float)(scale / n);

    public void Dispose() => Alpha.Dispose();
}
