using ManualVsAuto.Data;
using static TorchSharp.torch;

namespace ManualVsAuto.Model;

public static class Minibatch
{
    /// <summary>The lecture's <c>ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)</c>; with replacement.
    /// Only the drawn examples are made.</summary>
    public static (Tensor Xb, Tensor Yb) Draw(Examples train, int batchSize, Generator g)
    {
        using var ix = randint(0, train.Count, [batchSize], generator: g);
        return train.Gather(Longs(ix));
    }

    /// <summary>An int64 tensor's memory.</summary>
    public static ReadOnlySpan<long> Longs(Tensor ix) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(ix.bytes);
}
