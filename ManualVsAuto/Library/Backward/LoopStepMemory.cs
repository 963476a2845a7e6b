using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Backward;

/// <summary>
/// A contiguous float32 CPU tensor's memory, taken once: <see cref="LoopStepState.Floats"/> costs several native calls
/// (≈ 40 a step), this a pointer read. Valid while the tensor lives and is updated only in place, as the step's buffers
/// and the trainer's parameters are.
/// </summary>
internal readonly unsafe struct FloatMemory
{
    private readonly float* data;
    private readonly int length;

    public FloatMemory(Tensor t)
    {
        var bytes = LoopStepState.Floats(t);
        fixed (float* p = bytes) data = p; // native memory: it does not move
        length = bytes.Length;
    }

    public Span<float> Span => new(data, length);
}

/// <summary>The memory of the 7 tensors of an <see cref="MlpParameters"/> (the parameters, or their gradients).</summary>
internal sealed class MlpMemory(MlpParameters p)
{
    public MlpParameters Tensors { get; } = p;

    /// <summary>In <see cref="MlpParameters.Named"/>'s order.</summary>
    public FloatMemory[] All { get; } = [new(p.C), new(p.W1), new(p.b1), new(p.W2), new(p.b2), new(p.bngain), new(p.bnbias)];

    public Span<float> C => All[0].Span;
    public Span<float> W1 => All[1].Span;
    public Span<float> b1 => All[2].Span;
    public Span<float> W2 => All[3].Span;
    public Span<float> b2 => All[4].Span;
    public Span<float> bngain => All[5].Span;
    public Span<float> bnbias => All[6].Span;
}
