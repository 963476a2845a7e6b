using System.Globalization;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// Names the common hand-backprop mistakes when a failing row shows their signature: a shape that only
/// broadcasts (keepdim), a transposed matmul, a sign error, a constant factor (often n), a missing path.
/// </summary>
public static class MistakeHints
{
    public static string ForShapes(long[] manual, long[] reference)
    {
        long nm = manual.Aggregate(1L, (a, b) => a * b), nr = reference.Aggregate(1L, (a, b) => a * b);
        if (nm == nr && manual.Where(d => d != 1).SequenceEqual(reference.Where(d => d != 1)))
            return "hint: same elements with a size-1 dimension dropped or added — a missing keepdim: true (e.g. .sum(0) for .sum(0, keepdim: true))?";
        if (manual.Length == 2 && reference.Length == 2 && manual[0] == reference[1] && manual[1] == reference[0])
            return "hint: the shape is transposed — a matmul with its operands swapped or a missing .t()?";
        if (Broadcastable(manual, reference))
            return "hint: they would only broadcast, which hides a summed-away or missing dimension (a missing keepdim?).";
        return "hint: the shapes are unrelated — is this the gradient of another tensor?";
    }

    /// <summary>A hint for two same-shaped tensors that are not close, or null when no known signature fits.</summary>
    public static string? ForValues(Tensor m, Tensor r)
    {
        using var scope = NewDisposeScope();
        m = m.to_type(ScalarType.Float64);
        r = r.to_type(ScalarType.Float64);
        double scale = r.abs().max().item<double>();
        if (scale == 0 || !double.IsFinite(scale)) return null;
        bool Close(Tensor a, Tensor b) => (a - b).abs().max().item<double>() <= 1e-4 * scale + 1e-12;

        if (m.abs().max().item<double>() == 0) return "hint: the manual gradient is all zeros — a path not backpropagated at all?";
        if (Close(-m, r)) return "hint: a sign error — the manual gradient is the negative of autograd's.";
        if (m.dim() == 2 && m.shape[0] == m.shape[1] && Close(m.t(), r))
            return "hint: the manual gradient is the transpose of autograd's — a matmul with its operands swapped?";

        double k = (m * r).sum().item<double>() / (m * m).sum().item<double>();
        if (double.IsFinite(k) && Close(m * k, r)) return FactorHint(k);

        var residual = r - m;
        for (int d = 0; d < residual.dim(); d++)
        {
            if (residual.shape[d] < 2) continue;
            if (Close(residual, residual.mean([d], keepdim: true).expand_as(residual)))
                return $"hint: the difference is the same along dim {d} — a missing path: a variable used twice " +
                       "(e.g. also in a sum, mean or broadcast) needs the gradients of both uses added.";
        }
        if (residual.dim() == 2)
        {
            var nonzero = residual.abs().gt(1e-4 * scale);
            if (nonzero.sum(1, keepdim: false).le(1).all().item<bool>())
                return "hint: the difference sits on at most one element per row — a missing path through a max or an index?";
        }
        return null;
    }

    private static string FactorHint(double k)
    {
        string f = k.ToString("G4", CultureInfo.InvariantCulture);
        double n = Math.Abs(k) >= 1 ? Math.Abs(k) : 1 / Math.Abs(k);
        string sign = k < 0 ? " and a sign error" : "";
        if (Math.Abs(n - Math.Round(n)) < 1e-3 * n && Math.Round(n) > 1)
        {
            string which = Math.Abs(k) >= 1 ? $"autograd's is {Math.Round(n)}× the manual one" : $"the manual one is {Math.Round(n)}× autograd's";
            return $"hint: off by a factor of {Math.Round(n)}{sign} ({which}) — a missing or extra 1/n (a mean over n = {Math.Round(n)})?";
        }
        return $"hint: off by a constant factor {f}{sign} (autograd = {f} × manual).";
    }

    private static bool Broadcastable(long[] a, long[] b)
    {
        for (int i = 1; i <= Math.Min(a.Length, b.Length); i++)
        {
            long x = a[^i], y = b[^i];
            if (x != y && x != 1 && y != 1) return false;
        }
        return true;
    }
}
