using System.Globalization;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>A mistake's signature: a short cause for the summary ("a missing path") and the hint line.</summary>
public sealed record MistakeHint(string Cause, string Text);

/// <summary>
/// Names the classic hand-backprop mistakes when a failing row shows their signature: a shape that only broadcasts
/// (keepdim), a reduction over the wrong dimension, a transposed matmul, a missing path, a sign error, a factor of n
/// or another constant, n vs n−1, a scatter that overwrote, values in the wrong places. Each rule asks for its
/// signature to hold element by element (within 1e-4 of the gradient's scale), so a hint is never a guess.
/// </summary>
public static class MistakeHints
{
    public static string ForShapes(long[] manual, long[] reference)
    {
        long nm = manual.Aggregate(1L, (a, b) => a * b), nr = reference.Aggregate(1L, (a, b) => a * b);
        if (nm == nr && manual.Length != reference.Length && manual.Where(d => d != 1).SequenceEqual(reference.Where(d => d != 1)))
            return manual.Length < reference.Length
                ? "hint: same elements with a size-1 dimension dropped — a missing keepdim: true (write .sum(0, keepdim: true))?"
                : "hint: same elements with an extra size-1 dimension — keepdim: true where the tensor has none (write .sum(0, keepdim: false))?";
        // A size-1 dimension in another place is a reduction over the wrong dimension, even when it also reads as a transpose.
        if (manual.Length == reference.Length)
        {
            var ones = Ones(manual);
            var want = Ones(reference);
            if (ones.Count > 0 && ones.Count == want.Count && !ones.SequenceEqual(want))
                return $"hint: a reduction over the wrong dimension — the manual gradient is reduced over dim {string.Join(", ", ones)}, " +
                       $"the tensor's shape is reduced over dim {string.Join(", ", want)}.";
        }
        if (manual.Length == 2 && reference.Length == 2 && manual[0] == reference[1] && manual[1] == reference[0])
            return "hint: the shape is transposed — a matmul with its operands swapped or a missing .t()?";
        if (Broadcastable(manual, reference))
            return "hint: they would only broadcast — a dimension summed away, or one never summed?";
        return "hint: the shapes are unrelated — is this the gradient of another tensor?";

        static List<int> Ones(long[] s) => Enumerable.Range(0, s.Length).Where(i => s[i] == 1).ToList();
    }

    /// <summary>
    /// The signature of <paramref name="manual"/> against <paramref name="reference"/> (autograd's, or the local
    /// reference at an origin row), or null when none fits.
    /// </summary>
    /// <param name="sizes">Sizes a factor n could be (dimensions of the tensor and the steps around it).</param>
    /// <param name="shares">
    /// Each consuming step's share of a local reference; null when the reference is autograd's (no steps known), which
    /// also allows the weaker whole-tensor rules for a missing path.
    /// </param>
    /// <param name="uses">The reference's vector-Jacobian product with all-ones upstream: for an indexing step, how often each element was read.</param>
    public static MistakeHint? Diagnose(Tensor manual, Tensor reference, IReadOnlyCollection<long> sizes,
        IReadOnlyList<(string Step, Tensor Share)>? shares = null, Tensor? uses = null)
    {
        using var scope = NewDisposeScope();
        var m = manual.detach().to_type(ScalarType.Float64);
        var r = reference.detach().to_type(ScalarType.Float64);
        if (!m.isfinite().all().item<bool>())
            return new("non-finite values", "hint: the manual gradient has NaN or infinite values — a division by zero or a log of 0?");
        double scale = Math.Max(MaxAbs(r), MaxAbs(m));
        if (scale == 0 || !double.IsFinite(scale)) return null;
        double tol = 1e-4 * scale + 1e-12;
        bool Close(Tensor a, Tensor b) => MaxAbs(a - b) <= tol;

        // A difference below the hints' resolution has no signature (e.g. a dropped + eps): say nothing rather than guess.
        if (Close(m, r)) return null;
        if (MaxAbs(m) == 0) return new("all zeros", "hint: the manual gradient is all zeros — a path not backpropagated at all, or a factor 0 from integer division (1 / n with a long n)?");

        if (shares is { Count: > 1 })
            foreach (var (step, share) in shares)
                if (MaxAbs(share.to_type(ScalarType.Float64)) > tol && Close(m, r - share.to_type(ScalarType.Float64)))
                    return new("a missing path",
                        $"hint: a missing path — the tensor is used {(shares.Count == 2 ? "twice" : $"{shares.Count} times")} " +
                        $"(by {string.Join(" and ", shares.Select(s => s.Step))}); the gradient through {step} is missing: add the gradients of every use (+=, not =).");

        if (Close(-m, r)) return new("a sign error", "hint: a sign error — the manual gradient is the negative of autograd's.");
        if (m.dim() == 2 && m.shape[0] == m.shape[1] && Close(m.t(), r))
            return new("a transposed matmul", "hint: the manual gradient is the transpose of autograd's — a matmul with its operands swapped?");

        double k = (m * r).sum().item<double>() / (m * m).sum().item<double>();
        if (double.IsFinite(k) && Math.Abs(k - 1) > 1e-3 && Close(m * k, r)) return FactorHint(k, sizes);

        if (uses is not null && Overwrote(m, r, uses.detach().to_type(ScalarType.Float64), tol))
            return new("a scatter that overwrote",
                "hint: only elements read more than once differ — a scatter that overwrote (index_put_, assignment) instead of accumulating (index_add_, +=)?");

        if (m.numel() > 1 && Close(m.flatten().sort().Values, r.flatten().sort().Values))
            return new("values in the wrong places",
                "hint: the right values in the wrong places — a view, reshape or permute that mixes dimensions?");

        var residual = r - m;
        if (shares is null)
        {
            for (int d = 0; d < residual.dim(); d++)
            {
                if (residual.shape[d] < 2) continue;
                if (Close(residual, residual.mean([d], keepdim: true).expand_as(residual)))
                    return new("a missing path",
                        $"hint: the difference is the same along dim {d} — the gradient through a sum, mean or broadcast " +
                        $"along dim {d} is missing or wrong: a missing path (a variable used twice needs both uses' gradients added) or a wrong 1/n in a mean?");
            }
            if (residual.dim() == 2 && residual.shape[1] >= 2)
            {
                var nonzero = residual.abs().gt(tol);
                // Only where the reference itself is dense: a one-hot upstream gradient (dlogprobs) makes any wrong
                // local derivative differ on one element per row.
                bool sparseReference = r.abs().gt(tol).sum(1, keepdim: false).le(1).all().item<bool>();
                if (!sparseReference && nonzero.sum(1, keepdim: false).le(1).all().item<bool>())
                    return new("a missing path",
                        "hint: the difference sits on at most one element per row — a missing path through a max or an index?");
            }
        }
        return null;
    }

    /// <summary>
    /// For a step that multiplies two tensors (C = A·B, batched or not): a manual gradient that equals a product of the
    /// other operand and the incoming gradient with a transpose missing or misplaced (dB = A·dC for Aᵀ·dC), or null.
    /// Only shapes that multiply are tried: libtorch's matmul ends the process on a shape error.
    /// </summary>
    public static MistakeHint? ForProduct(Tensor manual, Tensor local, Tensor other, Tensor dout, string name, string otherName, string product)
    {
        if (other.dim() < 2 || dout.dim() < 2 || other.dim() != dout.dim() || manual.dim() != dout.dim()) return null;
        using var scope = NewDisposeScope();
        var m = manual.detach().to_type(ScalarType.Float64);
        double tol = 1e-4 * Math.Max(MaxAbs(m), MaxAbs(local.to_type(ScalarType.Float64))) + 1e-12;
        var o = other.to_type(ScalarType.Float64);
        var d = dout.to_type(ScalarType.Float64);
        var forms = new (string Text, Tensor X, Tensor Y)[]
        {
            ($"{otherName}.matmul(d{product})", o, d), ($"{otherName}ᵀ.matmul(d{product})", o.transpose(-2, -1), d),
            ($"d{product}.matmul({otherName})", d, o), ($"d{product}.matmul({otherName}ᵀ)", d, o.transpose(-2, -1)),
            ($"d{product}ᵀ.matmul({otherName})", d.transpose(-2, -1), o), ($"{otherName}.matmul(d{product}ᵀ)", o, d.transpose(-2, -1)),
        };
        // Each form's product once, where the shapes multiply and give the gradient's shape.
        var products = forms.Select(f => (f.Text, P: RoundingForms.Mm(f.X, f.Y)))
            .Where(f => f.P is not null && f.P.shape.SequenceEqual(m.shape)).ToList();
        var l = local.to_type(ScalarType.Float64);
        if (products.FirstOrDefault(f => MaxAbs(f.P! - m) <= tol).Text is not { } text) return null;
        string? right = products.FirstOrDefault(f => MaxAbs(f.P! - l) <= tol).Text;
        return new("a missing transpose",
            $"hint: d{name} is {text} — a transpose missing or misplaced in the product's backward" +
            (right is not null ? $"; the product's backward is d{name} = {right}." : " (for C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC)."));
    }

    /// <summary>Differences only where an element was read twice or more (counts ≥ 2), and some elements read once agree.</summary>
    private static bool Overwrote(Tensor m, Tensor r, Tensor uses, double tol)
    {
        if (!uses.shape.SequenceEqual(m.shape)) return false;
        if (!uses.eq(uses.round()).all().item<bool>()) return false; // not an indexing step: its uses are not counts
        var differs = (m - r).abs().gt(tol);
        var repeated = uses.abs().ge(2);
        bool anyOnce = uses.abs().eq(1).any().item<bool>();
        return anyOnce && differs.any().item<bool>() && !(differs & repeated.logical_not()).any().item<bool>();
    }

    private static MistakeHint FactorHint(double k, IReadOnlyCollection<long> sizes)
    {
        string f = k.ToString("G4", CultureInfo.InvariantCulture);
        double a = Math.Abs(k);
        string sign = k < 0 ? " and a sign error" : "";
        double big = a >= 1 ? a : 1 / a;
        long? factorN = Near(big, Math.Round(big)) && Math.Round(big) > 1 && sizes.Contains((long)Math.Round(big)) ? (long)Math.Round(big) : null;
        long? besselN = sizes.Where(n => n >= 2).OrderDescending()
            .Select(n => (long?)n).FirstOrDefault(n => Near(a, (double)n!.Value / (n.Value - 1)) || Near(a, (n.Value - 1.0) / n.Value));
        string FactorN(long n) =>
            $"off by a factor of {n}{sign} ({(a >= 1 ? $"autograd's is {n}× the manual one" : $"the manual one is {n}× autograd's")}) — a missing or extra 1/n (a mean over n = {n})?";
        string Bessel(long n) =>
            $"n vs n−1: the batch variance divides by n−1 (Bessel's correction), so its gradient has 1/(n−1) = 1/{n - 1}, not 1/n = 1/{n}";
        if (factorN is { } fn && besselN is { } bn) // n = 2: 2 = n = n/(n−1), the two cannot be told apart
            return new("a factor of n or n vs n−1", $"hint: {FactorN(fn)} Or {Bessel(bn)}.");
        if (besselN is { } b)
            return new("n vs n−1 (Bessel's correction)", $"hint: off by a factor {f}{sign} = {(a > 1 ? $"{b}/{b - 1}" : $"{b - 1}/{b}")} — {Bessel(b)}.");
        if (factorN is { } n) return new("a factor of n", "hint: " + FactorN(n));
        return new("a constant factor", $"hint: off by a constant factor {f}{sign} (autograd = {f} × manual).");

        static bool Near(double x, double y) => Math.Abs(x - y) <= 1e-4 * y;
    }

    private static double MaxAbs(Tensor t) => t.numel() == 0 ? 0 : t.abs().max().item<double>();

    private static bool Broadcastable(long[] a, long[] b)
    {
        for (int i = 1; i <= Math.Min(a.Length, b.Length); i++)
        {
            long x = a[^i], y = b[^i];
            if (x != y && x != 1 && y != 1) return false;
        }
        return true;
    }

    /// <summary>The short cause of a shape mismatch (the table's), by the same rules as <see cref="ForShapes"/>.</summary>
    public static string ShapeCause(long[] manual, long[] reference)
    {
        string hint = ForShapes(manual, reference);
        return hint switch
        {
            _ when hint.Contains("dimension dropped", StringComparison.Ordinal) => "a missing keepdim: true",
            _ when hint.Contains("extra size-1", StringComparison.Ordinal) => "keepdim: true where the tensor has none",
            _ when hint.Contains("wrong dimension", StringComparison.Ordinal) => "a reduction over the wrong dimension",
            _ when hint.Contains("transposed", StringComparison.Ordinal) => "a transposed shape",
            _ when hint.Contains("broadcast", StringComparison.Ordinal) => "a shape that only broadcasts",
            _ => "an unrelated shape",
        };
    }

    /// <summary>
    /// An integer or bool result where a gradient is floating point, or null: TorchSharp's <c>t.sum(0)</c> binds to
    /// <c>sum(ScalarType)</c> (0 is <c>ScalarType.Byte</c>), the lecture's literal <c>dlogits.sum(0)</c> included.
    /// </summary>
    public static MistakeHint? ForIntegerResult(ScalarType manual, long[] manualShape)
    {
        if (manual is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64 or ScalarType.ComplexFloat32 or ScalarType.ComplexFloat64)
            return null;
        if (manual == ScalarType.Byte && manualShape.Length == 0)
            return new("t.sum(0) binds to sum(ScalarType): a Byte",
                "hint: a Byte scalar — `t.sum(0)` binds to `sum(ScalarType)` in TorchSharp (0 is ScalarType.Byte): write `t.sum(0, keepdim: false)`.");
        return new($"an integer result ({manual})",
            $"hint: a {manual} result — an integer tensor (arange, Yb, argmax, one_hot) in the formula, or `t.sum(0)`, which binds to `sum(ScalarType)`? " +
            "Convert with .to_type(t.dtype), write `t.sum(0, keepdim: false)`.");
    }
}
