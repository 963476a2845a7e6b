using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>Per-element statistics of a comparison, computed on the host: gradients here are small.</summary>
internal sealed record ElementStats(
    double MaxDiff, double MaxRelDiff, long[]? WorstIndex, double ManualAtWorst, double ReferenceAtWorst,
    long? Ulps, long Mismatches, long NotClose, double ToleranceUsed)
{
    /// <param name="rtol">With <paramref name="atol"/>, allclose's rule for <see cref="NotClose"/> and <see cref="ToleranceUsed"/>.</param>
    public static ElementStats Of(Tensor manual, Tensor reference, double rtol, double atol)
    {
        bool single = manual.dtype == ScalarType.Float32;
        double[] m = ToDoubles(manual), r = ToDoubles(reference);
        double maxDiff = 0, maxRel = 0;
        long worst = 0, mismatches = 0, notClose = 0;
        double used = 0;
        for (long i = 0; i < m.Length; i++)
        {
            double a = m[i], b = r[i];
            double diff = Math.Abs(a - b);
            if (!(a == b)) mismatches++; // as torch.eq: NaN never equal, -0 equals +0
            double bound = atol + rtol * Math.Abs(b);
            if (!(diff <= bound)) notClose++;
            if (!(a == b)) used = Math.Max(used, double.IsNaN(diff) ? double.PositiveInfinity : diff / bound);
            double scale = Math.Max(Math.Abs(a), Math.Abs(b));
            double rel = scale == 0 ? 0 : diff / scale;
            if (double.IsNaN(diff)) { diff = double.PositiveInfinity; rel = double.PositiveInfinity; }
            if (diff > maxDiff) { maxDiff = diff; worst = i; }
            if (rel > maxRel) maxRel = rel;
        }
        if (mismatches == 0) return new ElementStats(0, 0, null, 0, 0, 0, 0, 0, 0);
        double mw = m[worst], rw = r[worst];
        // Ulps count representable values between two numbers of the same sign; across 0 they would count every tiny float.
        long? ulps = mw == rw || mw * rw > 0 ? single ? Ulp.Distance((float)mw, (float)rw) : Ulp.Distance(mw, rw) : null;
        return new ElementStats(maxDiff, maxRel, Unravel(worst, manual.shape), mw, rw, ulps, mismatches, notClose, used);
    }

    internal static double[] ToDoubles(Tensor t) =>
        t.numel() == 0 ? [] : t.to_type(ScalarType.Float64).contiguous().cpu().data<double>().ToArray();

    /// <summary>The index of flat position <paramref name="flat"/> in a tensor of <paramref name="shape"/> (row-major).</summary>
    internal static long[] Unravel(long flat, ReadOnlySpan<long> shape)
    {
        var index = new long[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            index[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }
        return index;
    }
}

/// <summary>Distance in representable values between two floats of the same precision.</summary>
public static class Ulp
{
    public static long Distance(float a, float b)
    {
        if (float.IsNaN(a) || float.IsNaN(b)) return long.MaxValue;
        return Math.Abs(Ordered(BitConverter.SingleToInt32Bits(a)) - Ordered(BitConverter.SingleToInt32Bits(b)));

        static long Ordered(int bits) => bits < 0 ? -(long)(bits & 0x7fffffff) : bits;
    }

    public static long Distance(double a, double b)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return long.MaxValue;
        Int128 d = Ordered(BitConverter.DoubleToInt64Bits(a)) - Ordered(BitConverter.DoubleToInt64Bits(b));
        d = Int128.Abs(d);
        return d > long.MaxValue ? long.MaxValue : (long)d;

        static Int128 Ordered(long bits) => bits < 0 ? -(Int128)(bits & long.MaxValue) : bits;
    }
}
