using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace ManualVsAuto.Training;

/// <summary>
/// The SGD update over a parameter's memory, in the two roundings the trainers need: the MLP's manual step repeats
/// the lecture's own line, the layered nets match <c>optim.SGD</c>, which their autograd baseline uses. The two
/// differ in the last bit of some elements; SgdUpdateTests holds each to the libtorch expression it stands for.
/// </summary>
public static class SgdUpdate
{
    /// <summary>The lecture's <c>p.data += -lr * p.grad</c>: the product rounded, then the sum (two roundings).</summary>
    public static void AsLecture(Span<float> p, ReadOnlySpan<float> grad, float lr) =>
        TensorPrimitives.MultiplyAdd(grad, -lr, p, p);

    /// <summary><c>optim.SGD</c>'s <c>p.add_(grad, alpha: −lr)</c>: one fused multiply-add per element (one rounding).</summary>
    public static void AsOptimSgd(Span<float> p, ReadOnlySpan<float> grad, float lr) =>
        TensorPrimitives.FusedMultiplyAdd(grad, -lr, p, p);
}
