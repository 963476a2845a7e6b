using static TorchSharp.torch;

namespace ManualVsAuto.Model.Layers;

/// <summary>Part 5's <c>FlattenConsecutive(n)</c>: (B, T, C) → (B, T/n, C·n), concatenating n consecutive
/// positions; a time dimension of 1 is squeezed away, giving (B, C·n).</summary>
public sealed class FlattenConsecutive(int n) : Layer
{
    private long[] inputShape = [];

    public int N { get; } = n;

    public override Tensor Forward(Tensor x, ForwardMode mode)
    {
        inputShape = x.shape;
        if (x.dim() != 3) throw new ArgumentException($"FlattenConsecutive takes (B, T, C) input, got ({string.Join(", ", x.shape)}).", nameof(x));
        long b = x.size(0), t = x.size(1), c = x.size(2);
        if (t % N != 0) throw new ArgumentException($"FlattenConsecutive({N}): T = {t} is not a multiple of {N}.", nameof(x));
        var @out = x.view(b, t / N, c * N);
        return @out.size(1) == 1 ? @out.squeeze(1) : @out;
    }

    /// <summary>A view only moves no numbers: the gradient is dout viewed back.</summary>
    public override Tensor Backward(Tensor dout) => dout.view(inputShape);
}
