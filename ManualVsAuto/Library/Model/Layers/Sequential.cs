using static TorchSharp.torch;

namespace ManualVsAuto.Model.Layers;

/// <summary>Layers applied in order; the backward runs them in reverse, each fed the gradient the next one returned.</summary>
public class Sequential(IReadOnlyList<Layer> layers) : Layer
{
    public IReadOnlyList<Layer> Layers { get; } = layers;

    public override IReadOnlyList<LayerParameter> Parameters => Layers.SelectMany(l => l.Parameters).ToList();

    public override IReadOnlyList<(string Name, Tensor Tensor)> Buffers => Layers.SelectMany(l => l.Buffers).ToList();

    /// <summary>Parameters and buffers by <c>layers[i].name</c>, in layer order: what a checkpoint saves.</summary>
    public virtual IReadOnlyList<(string Name, Tensor Tensor)> State =>
        Layers.SelectMany((l, i) => l.Parameters.Select(p => (Name(i, p.Name), p.Value))
            .Concat(l.Buffers.Select(b => (Name(i, b.Name), b.Tensor)))).ToList();

    /// <summary>The parameters by <c>layers[i].name</c>, in layer order.</summary>
    public IReadOnlyList<(string Name, LayerParameter Parameter)> NamedParameters =>
        Layers.SelectMany((l, i) => l.Parameters.Select(p => (Name(i, p.Name), p))).ToList();

    public long Count => Parameters.Sum(p => p.Value.numel());

    public override Tensor Forward(Tensor x, ForwardMode mode) => Forward(x, mode, null);

    /// <param name="outs">When given (one slot per layer), each layer's output is left in it: the diagnostics read them.</param>
    public Tensor Forward(Tensor x, ForwardMode mode, Tensor[]? outs)
    {
        for (int i = 0; i < Layers.Count; i++)
        {
            x = Layers[i].Forward(x, mode);
            if (outs is not null) outs[i] = x;
        }
        return x;
    }

    public override Tensor? Backward(Tensor dout) => Backward(dout, null);

    /// <param name="douts">When given (one slot per layer), the gradient of each layer's output is left in it.</param>
    public Tensor? Backward(Tensor dout, Tensor[]? douts)
    {
        Tensor? d = dout;
        for (int i = Layers.Count - 1; i >= 0 && d is not null; i--)
        {
            if (douts is not null) douts[i] = d;
            d = Layers[i].Backward(d);
        }
        return d;
    }

    /// <summary>Runs <paramref name="f"/> with the parameters' values swapped for <paramref name="values"/> (same order as
    /// <see cref="Parameters"/>), e.g. float64 copies for finite differences; the originals are put back after.</summary>
    public T With<T>(IReadOnlyList<Tensor> values, Func<T> f)
    {
        var ps = Parameters;
        if (values.Count != ps.Count) throw new ArgumentException($"{values.Count} values for {ps.Count} parameters.", nameof(values));
        var saved = ps.Select(p => p.Value).ToList();
        try
        {
            for (int i = 0; i < ps.Count; i++) ps[i].Value = values[i];
            return f();
        }
        finally
        {
            for (int i = 0; i < ps.Count; i++) ps[i].Value = saved[i];
        }
    }

    public override void Dispose()
    {
        foreach (var layer in Layers) layer.Dispose();
        GC.SuppressFinalize(this);
    }

    private static string Name(int i, string name) => $"layers[{i}].{name}";
}
