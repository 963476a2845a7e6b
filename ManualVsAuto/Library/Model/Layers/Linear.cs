using static TorchSharp.torch;

namespace ManualVsAuto.Model.Layers;

/// <summary><c>out = x @ weight + bias</c> over the last dimension of a 2-D or 3-D input; the lecture's init:
/// <c>randn((fan_in, fan_out)) / fan_in**0.5</c> and a zero bias.</summary>
public sealed class Linear : Layer
{
    private Tensor x = null!;

    public Linear(long fanIn, long fanOut, bool bias, Generator g)
        : this(randn([fanIn, fanOut], generator: g).div_(Math.Sqrt(fanIn)), bias ? zeros(fanOut) : null)
    {
    }

    /// <summary>A layer over given tensors (the MLP's W1, b1), not copies: it owns them from here on.</summary>
    public Linear(Tensor weight, Tensor? bias)
    {
        Weight = new LayerParameter("weight", Keep(weight));
        Bias = bias is null ? null : new LayerParameter("bias", Keep(bias));
    }

    public LayerParameter Weight { get; }

    public LayerParameter? Bias { get; }

    public override IReadOnlyList<LayerParameter> Parameters => Bias is null ? [Weight] : [Weight, Bias];

    public override Tensor Forward(Tensor x, ForwardMode mode)
    {
        this.x = x;
        var @out = x.matmul(Weight.Value);
        return Bias is null ? @out : @out + Bias.Value;
    }

    /// <summary>A 3-D input is folded to 2-D rows first, as libtorch's matmul does, so each product is one mm.</summary>
    public override Tensor Backward(Tensor dout)
    {
        var w = Weight.Value;
        var x2 = x.reshape(-1, w.size(0));
        var dout2 = dout.reshape(-1, w.size(1));
        Weight.Grad = x2.t().mm(dout2);
        if (Bias is not null) Bias.Grad = dout2.sum(0, keepdim: false);
        return dout2.mm(w.t()).view(x.shape);
    }
}
