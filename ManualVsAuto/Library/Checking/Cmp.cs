using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>The lecture's <c>cmp</c>: exact equality, allclose and the largest absolute difference, plus diagnostics.</summary>
public static class Cmp
{
    /// <summary>torch.allclose's defaults.</summary>
    public const double DefaultRtol = 1e-5, DefaultAtol = 1e-8;

    /// <summary>Compares <paramref name="manual"/> with <paramref name="tensor"/>.grad.</summary>
    public static GradientRow Compare(string name, Tensor manual, Tensor tensor)
    {
        var grad = tensor.grad ?? throw new GradientCheckException(
            $"'{name}' has no gradient: call retain_grad() on it before backward() (or it is not on the path to the loss).");
        return CompareValues(name, manual, grad);
    }

    /// <summary>
    /// Compares two tensors of the same shape and dtype; never broadcasts, never converts. Another shape or dtype is
    /// a failing row (<see cref="Verdict.ShapeMismatch"/>, <see cref="Verdict.DtypeMismatch"/>) that names both.
    /// A row that is not within <paramref name="tolerance"/> is <see cref="Verdict.Wrong"/> here; a <see cref="GradientCheck"/> refines it.
    /// </summary>
    /// <param name="tolerance">What counts as approximate: <see cref="Tolerance.AllClose"/> unless given (training uses <see cref="Tolerance.Training"/>).</param>
    public static GradientRow CompareValues(string name, Tensor manual, Tensor reference, Tolerance? tolerance = null)
    {
        tolerance ??= Tolerance.AllClose;
        // An integer result first: sum(ScalarType)'s Byte scalar also has another shape, and that is not its cause.
        if (manual.dtype != reference.dtype && MistakeHints.ForIntegerResult(manual.dtype, manual.shape) is { } integer)
            return Mismatch(name, reference, Verdict.DtypeMismatch,
                $"manual gradient is {manual.dtype}{(manual.shape.SequenceEqual(reference.shape) ? "" : $" of shape {Shape(manual.shape)}")} but the tensor is {reference.dtype}; {integer.Text}")
                with { Tolerance = tolerance, Cause = integer.Cause };
        if (!manual.shape.SequenceEqual(reference.shape))
            return Mismatch(name, reference, Verdict.ShapeMismatch,
                $"manual gradient has shape {Shape(manual.shape)} but the tensor has shape {Shape(reference.shape)}; " +
                MistakeHints.ForShapes(manual.shape, reference.shape))
                with { ManualShape = manual.shape.ToArray(), Tolerance = tolerance, Cause = MistakeHints.ShapeCause(manual.shape, reference.shape) };
        if (manual.dtype != reference.dtype)
            return Mismatch(name, reference, Verdict.DtypeMismatch,
                $"manual gradient is {manual.dtype} but the tensor is {reference.dtype}: compute it in the tensor's dtype " +
                "(converted, a float64 gradient could round to exactly a float32 one and hide its error).") with { Tolerance = tolerance };
        using var scope = NewDisposeScope();
        var m = manual.detach();
        var r = reference.detach();
        bool exact = m.eq(r).all().item<bool>();
        var (rtol, atol) = tolerance.For(r);
        bool approx = m.allclose(r, rtol, atol);
        var d = ElementStats.Of(m, r, rtol, atol);
        var hint = approx ? null : MistakeHints.Diagnose(m, r, m.shape);
        return new GradientRow(name, reference.shape.ToArray(), exact, approx, d.MaxDiff, d.MaxRelDiff, d.WorstIndex,
            d.ManualAtWorst, d.ReferenceAtWorst, d.Ulps, d.Mismatches, d.NotClose, hint?.Text)
        {
            Verdict = exact ? Verdict.Exact : approx ? Verdict.Approximate : Verdict.Wrong,
            Cause = hint?.Cause,
            Tolerance = tolerance,
            ToleranceUsed = d.ToleranceUsed,
        };
    }

    private static GradientRow Mismatch(string name, Tensor reference, Verdict verdict, string hint) =>
        new(name, reference.shape.ToArray(), Exact: false, Approximate: false, MaxDiff: double.NaN, MaxRelDiff: double.NaN,
            Ulps: null, Mismatches: reference.numel(), NotClose: reference.numel(), Hint: hint)
        { Verdict = verdict };

    public static string Shape(ReadOnlySpan<long> shape) => "(" + string.Join(", ", shape.ToArray()) + ")";
}
