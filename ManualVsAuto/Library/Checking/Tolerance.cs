using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// How close a manual gradient must be to autograd's to be approximate: |manual − autograd| ≤ Atol + Rtol·scale for
/// every element, where the scale is the element's own |autograd| (torch's allclose) or, with
/// <paramref name="RelativeToLargest"/>, the largest |autograd| of the whole tensor.
/// </summary>
public sealed record Tolerance(double Rtol, double Atol, bool RelativeToLargest = false)
{
    /// <summary>torch.allclose's defaults, rtol 1e-5 and atol 1e-8: what <c>check</c> calls approximate.</summary>
    public static Tolerance AllClose { get; } = new(Cmp.DefaultRtol, Cmp.DefaultAtol);

    /// <summary>
    /// <c>train --verify-every</c>: |manual − autograd| ≤ 1e-6 + 1e-4·max|autograd|, per parameter. Not allclose: the
    /// training backward is fused (other sums, other rounding than autograd's chain), and an element that is small
    /// because its terms cancel keeps those terms' rounding, so its error is a fraction of the gradient's scale, not of
    /// itself; and b1's true gradient is 0, so both sides are rounding noise. <see cref="Atol"/> covers only gradients
    /// that are 0 in exact arithmetic. The margins measured on real training are in the CLI manual (--verify-every).
    /// </summary>
    public static Tolerance Training { get; } = new(1e-4, 1e-6, RelativeToLargest: true);

    /// <summary>The rule in words, e.g. <c>|manual − autograd| ≤ 1e-6 + 1e-4·max|autograd|</c>.</summary>
    public string Text => RelativeToLargest
        ? FormattableString.Invariant($"|manual − autograd| ≤ {Atol:0e-0} + {Rtol:0e-0}·max|autograd|")
        : FormattableString.Invariant($"allclose (rtol {Rtol:0e-0}, atol {Atol:0e-0})");

    /// <summary>
    /// allclose's rtol and atol that apply this tolerance to <paramref name="reference"/>: relative to the largest
    /// element, the bound is the same for every element, an atol alone.
    /// </summary>
    internal (double Rtol, double Atol) For(Tensor reference)
    {
        if (!RelativeToLargest) return (Rtol, Atol);
        if (reference.numel() == 0) return (0, Atol);
        using var scope = NewDisposeScope();
        // The largest finite element: a NaN or infinite one would make the bound NaN (libtorch rejects it) or infinite
        // (everything close); such elements fail on their own, as allclose never calls NaN close.
        var largest = reference.abs().nan_to_num(0, 0, 0).max().to_type(ScalarType.Float64).item<double>();
        return (0, Atol + Rtol * largest);
    }
}
