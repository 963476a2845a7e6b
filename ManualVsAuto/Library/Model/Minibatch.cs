using ManualVsAuto.Data;
using static TorchSharp.torch;

namespace ManualVsAuto.Model;

public static class Minibatch
{
    /// <summary>The lecture's <c>ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)</c>; with replacement.</summary>
    public static (Tensor Xb, Tensor Yb) Sample(Examples train, int batchSize, Generator g)
    {
        var ix = randint(0, train.Count, [batchSize], generator: g);
        return (train.X.index_select(0, ix), train.Y.index_select(0, ix));
    }
}
