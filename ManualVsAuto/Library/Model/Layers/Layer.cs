using static TorchSharp.torch;

namespace ManualVsAuto.Model.Layers;

/// <summary>How a forward pass treats batchnorm.</summary>
public enum ForwardMode
{
    /// <summary>Training: batch statistics, and the running statistics move (momentum update).</summary>
    Train,

    /// <summary>Batch statistics as in training, but the running statistics stay: checks, finite differences,
    /// <c>--verify-every</c>, any forward that only looks.</summary>
    Inspect,

    /// <summary>Inference: the running statistics, so one example at a time works.</summary>
    Eval,
}

/// <summary>A trainable tensor of a layer and the gradient its layer's <see cref="Layer.Backward"/> left for the optimiser.</summary>
public sealed class LayerParameter(string name, Tensor value)
{
    /// <summary>The lecture's attribute name: weight, bias, gamma, beta.</summary>
    public string Name { get; } = name;

    public Tensor Value { get; set; } = value;

    /// <summary>d loss / d <see cref="Value"/> from the last <see cref="Layer.Backward"/>; null before the first.</summary>
    public Tensor? Grad { get; set; }
}

/// <summary>
/// A layer of part 3/5 of the lecture series with its backward written by hand beside its forward, micrograd-style:
/// <see cref="Forward"/> keeps what the backward needs, <see cref="Backward"/> takes d loss / d out, leaves each
/// parameter's gradient in <see cref="LayerParameter.Grad"/> and returns d loss / d x. The forward is plain tensor
/// code, so autograd can run through it too (parameters that require gradients); the backward reads no <c>.grad</c>.
/// </summary>
public abstract class Layer : IDisposable
{
    /// <summary>The class name, as the lecture's: Linear, BatchNorm1d, …</summary>
    public virtual string Kind => GetType().Name;

    public virtual IReadOnlyList<LayerParameter> Parameters => [];

    /// <summary>Whether <see cref="Backward"/>'s dx runs the same floating-point operations as autograd's, so a check
    /// can require it bit for bit; a layer whose backward is a shorter formula (batchnorm's) says no.</summary>
    public virtual bool ExactBackward => true;

    /// <summary>State that is not trained by gradients (batchnorm's running statistics), by name.</summary>
    public virtual IReadOnlyList<(string Name, Tensor Tensor)> Buffers => [];

    public abstract Tensor Forward(Tensor x, ForwardMode mode);

    /// <summary>Backprop through the last <see cref="Forward"/>: sets the parameters' gradients and returns dx
    /// (null when the input has no gradient, as the embedding's integer indices).</summary>
    public abstract Tensor? Backward(Tensor dout);

    /// <summary>Takes the layer's parameters and buffers out of any dispose scope: they live as long as the layer.</summary>
    protected T Keep<T>(T t) where T : Tensor
    {
        t.DetachFromDisposeScope();
        return t;
    }

    public virtual void Dispose()
    {
        foreach (var p in Parameters) { p.Value.Dispose(); p.Grad?.Dispose(); }
        foreach (var (_, b) in Buffers) b.Dispose();
        GC.SuppressFinalize(this);
    }
}
