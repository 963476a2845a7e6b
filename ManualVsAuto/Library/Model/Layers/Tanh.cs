using static TorchSharp.torch;

namespace ManualVsAuto.Model.Layers;

public sealed class Tanh : Layer
{
    private Tensor @out = null!;

    public override Tensor Forward(Tensor x, ForwardMode mode) => @out = x.tanh();

    /// <summary><c>(1 − out²)·dout</c>, with <c>1 − out²</c> as one fused multiply-add like libtorch's tanh backward (so it is exact).</summary>
    public override Tensor Backward(Tensor dout) => ones_like(@out).addcmul_(@out, @out, value: -1.0).mul_(dout);
}
