using static TorchSharp.torch;

namespace ManualVsAuto.Model.Layers;

/// <summary><c>weight[IX]</c>: one row of <c>randn((num, dim))</c> per integer index.</summary>
public sealed class Embedding : Layer
{
    private Tensor ix = null!;

    public Embedding(long num, long dim, Generator g) : this(randn([num, dim], generator: g))
    {
    }

    /// <summary>A layer over a given table (the MLP's C), not a copy: it owns it from here on.</summary>
    public Embedding(Tensor weight) => Weight = new LayerParameter("weight", Keep(weight));

    public LayerParameter Weight { get; }

    public override IReadOnlyList<LayerParameter> Parameters => [Weight];

    public override Tensor Forward(Tensor x, ForwardMode mode)
    {
        ix = x;
        var w = Weight.Value;
        return w.index_select(0, x.reshape(-1)).view([.. x.shape, w.size(1)]);
    }

    /// <summary>Scatter-adds each row of dout back to the index it was looked up for; the indices get no gradient.</summary>
    public override Tensor? Backward(Tensor dout)
    {
        var w = Weight.Value;
        Weight.Grad = zeros_like(w).index_add_(0, ix.reshape(-1), dout.reshape(-1, w.size(1)), 1.0);
        return null;
    }
}
