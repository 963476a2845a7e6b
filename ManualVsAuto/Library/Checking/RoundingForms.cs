using System.Globalization;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Checking;

/// <summary>
/// Which op rounds differently, for a row that is right but not exact. TorchSharp has no grad_fn, so the op of a
/// consuming step is found by trying the forms autograd uses (PyTorch's tools/autograd/derivatives.yaml) on the
/// step's recorded inputs, output and upstream gradient: the first form bitwise equal to autograd's local backward
/// names the op and is the line that would be exact. A row whose own line already equals its local reference is
/// exact given what it received: the rounding comes from upstream.
/// </summary>
internal static class RoundingForms
{
    /// <summary>One form of a step's local backward: the op, the line in TorchSharp and what autograd does.</summary>
    /// <param name="Twice">
    /// For a step that reads x twice (x*x): the one term autograd adds twice, once per use; <see cref="Value"/> is their sum.
    /// </param>
    internal sealed record Form(string Op, string Text, string Autograd, Tensor Value, string? Twice = null);

    /// <summary>Ops whose backward is one native kernel that no composition of TorchSharp ops reproduces bitwise.</summary>
    private const string Native = "a native kernel no composition reproduces bitwise: approximate is as close as a hand-written line gets";

    /// <summary>
    /// The explanation for a passing row of <paramref name="name"/> that is not exact, or null when nothing was
    /// recorded with Step (then nothing is known of the ops).
    /// </summary>
    /// <param name="rowOf">The judged row of a tensor, to name the upstream rows that are not exact.</param>
    public static string? Explain(StepTape tape, string name, Tensor manual, Func<string, Tensor?> manualOf, Func<string, GradientRow?> rowOf)
    {
        var consumers = tape.Consumers(name).ToList();
        if (consumers.Count == 0)
            return tape.Steps.Count == 0 ? null
                : $"no step reads {name}: its gradient comes from outside the steps (the loss); record the loss as a Step to have its op named";
        using var scope = NewDisposeScope();
        var local = LocalReferences.Of(tape, name, manualOf);
        if (local is null) return null;
        var m = manual.detach();
        if (Same(m, local))
        {
            var inexact = consumers.Where(s => rowOf(s.Name) is { Exact: false }).Select(s => "d" + s.Name).ToList();
            return inexact.Count > 0
                ? $"its own line is exact given {string.Join(" and ", inexact)}: the rounding comes from upstream ({string.Join(", ", inexact)} {(inexact.Count == 1 ? "is" : "are")} not exact)"
                : "its own line is exact given what it receives: autograd adds the gradients of its uses in another order";
        }
        if (consumers.Count == 1)
        {
            var s = consumers[0];
            return Find(tape, s, name, local, manualOf) is { } f
                ? $"{f.Op} (step {s.Name}) rounds differently: exact if written `{f.Text}` — autograd's {f.Autograd}"
                : Unknown(tape, s, name);
        }
        var shares = LocalReferences.Shares(tape, name, manualOf, split: true)!;
        var parts = new List<string>();
        var terms = new List<(string Text, Tensor Value)>();
        bool allFound = true;
        foreach (var (step, share) in shares)
        {
            var s = consumers.Single(c => c.Name == step);
            if (Find(tape, s, name, share, manualOf) is { } f)
            {
                parts.Add($"through {step}, {f.Op}: `{f.Text}`");
                if (f.Twice is { } once) terms.AddRange([(once, f.Value / 2), (once, f.Value / 2)]); // halving is exact
                else terms.Add((f.Text, f.Value));
            }
            else
            {
                parts.Add($"through {step}: {Unknown(tape, s, name)}");
                allFound = false;
            }
        }
        // Autograd adds one term per use as the graph delivers them: float addition is not associative, so the order counts.
        var order = allFound && terms.Count <= 5
            ? Orders(terms).FirstOrDefault(o => Same(o.Skip(1).Aggregate(o[0].Value, (a, b) => a + b.Value), local))
            : null;
        string sum = order is null ? " (in autograd's order of accumulation)" : $" in this order, `{string.Join(" + ", order.Select(t => Term(t.Text)))}`";
        return $"{name} is read by {consumers.Count} steps; exact if written as the sum of autograd's forms{sum}: " + string.Join("; ", parts);

        static string Term(string text) => text.Contains(' ') ? $"({text})" : text;
    }

    /// <summary>Every order of the terms (a handful at most).</summary>
    private static IEnumerable<List<(string Text, Tensor Value)>> Orders(List<(string Text, Tensor Value)> terms)
    {
        if (terms.Count <= 1) { yield return terms; yield break; }
        for (int i = 0; i < terms.Count; i++)
        {
            var rest = terms.Where((_, j) => j != i).ToList();
            foreach (var o in Orders(rest)) yield return [terms[i], .. o];
        }
    }

    /// <summary>The first form bitwise equal to <paramref name="reference"/>, the step's local backward for <paramref name="x"/>.</summary>
    private static Form? Find(StepTape tape, StepTape.StepRecord s, string x, Tensor reference, Func<string, Tensor?> manualOf)
    {
        var g = (manualOf(s.Name) ?? tape[s.Name].grad)?.detach();
        if (g is null) return null;
        foreach (var f in Candidates(tape, s, x, g))
            if (Same(f.Value, reference)) return f;
        return null;
    }

    private static bool Same(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    /// <summary>
    /// The forms autograd uses, in derivatives.yaml's words, for step <paramref name="s"/>'s backward to input
    /// <paramref name="x"/> given the upstream gradient <paramref name="g"/>. A form that does not apply (shapes,
    /// another input count) is skipped; a form that throws is skipped too.
    /// </summary>
    private static IEnumerable<Form> Candidates(StepTape tape, StepTape.StepRecord s, string x, Tensor g)
    {
        var X = tape[x].detach();
        var O = tape[s.Name].detach();
        string o = s.Name, d = "d" + s.Name;
        var others = s.Inputs.Where(n => n != x).ToList();
        var forms = new List<Func<Form?>>();
        bool elementwise = X.shape.SequenceEqual(O.shape) && g.shape.SequenceEqual(O.shape);

        if (elementwise && s.Inputs.Count == 1)
        {
            forms.Add(() => new("tanh", $"ones_like({o}).addcmul({o}, {o}, value: -1) * {d}",
                "tanh backward is tanh_backward(grad, result) = grad·(1 − result²), its 1 − result² one fused multiply-add (torch.addcmul)",
                ones_like(O).addcmul(O, O, value: -1.0) * g));
            forms.Add(() => new("sigmoid", $"{d} * (1 - {o}) * {o}", "sigmoid backward is sigmoid_backward(grad, result) = grad·(1 − result)·result", g * (1 - O) * O));
            forms.Add(() => new("exp", $"{d} * {o}", "exp backward is grad * result", g * O));
            forms.Add(() => new("log", $"{d} / {x}", "log backward is grad.div(self)", g / X));
            forms.Add(() => new("sqrt", $"{d} / (2 * {o})", "sqrt backward is grad / (2 * result)", g / (2 * O)));
            forms.Add(() => new("rsqrt", $"-0.5 * {d} * {o}.pow(3)", "rsqrt backward is -0.5 * grad * result.pow(3)", -0.5 * g * O.pow(3)));
            forms.Add(() => Same(X * X, O)
                ? new("the square x*x", $"{d} * {x} * 2", $"mul backward is grad * other for each operand, here both {x}: one term per use", g * X * 2, Twice: $"{d} * {x}")
                : null);
            foreach (double p in new[] { 2.0, 3, 4, 0.5, -0.5, -1, -1.5, -2, 1.5 })
                forms.Add(() => Same(X.pow(p), O)
                    ? new($"pow({Num(p)})", p == 2 ? $"{d} * (2 * {x})" : $"{d} * ({Num(p)} * {x}.pow({Num(p - 1)}))",
                        "pow backward is pow_backward(grad, self, exponent) = grad * (exponent * self.pow(exponent - 1))",
                        p == 2 ? g * (2 * X) : g * (p * X.pow(p - 1)))
                    : null);
            forms.Add(() => new("relu", $"{d} * ({o} > 0)", "relu backward is threshold_backward(grad, result, 0)", g * O.gt(0).to_type(g.dtype)));
            forms.Add(() => ScalarFactor(X, O, g, x, d));
            foreach (long dim in new long[] { -1, 0 })
            {
                forms.Add(() => Same(F.softmax(X, dim), O)
                    ? new("softmax", $"{o} * ({d} - ({d} * {o}).sum({dim}, keepdim: true))", "softmax backward is _softmax_backward_data(grad, result, dim)",
                        O * (g - (g * O).sum(dim, keepdim: true)))
                    : null);
                forms.Add(() => Same(F.log_softmax(X, dim), O)
                    ? new("log_softmax", $"{d} - {o}.exp() * {d}.sum({dim}, keepdim: true)", "log_softmax backward is _log_softmax_backward_data(grad, result, dim)",
                        g - O.exp() * g.sum(dim, keepdim: true))
                    : null);
            }
        }

        // A reduction of x: mean, sum, the mean of a square, var (keepdim or over everything, so the gradient broadcasts).
        if (s.Inputs.Count == 1 && O.numel() < X.numel() && g.shape.SequenceEqual(O.shape) && (O.dim() == X.dim() || O.numel() == 1))
        {
            long n = X.numel() / Math.Max(1, O.numel());
            Tensor h() => g.expand_as(X) / n;
            var dims = Enumerable.Range(0, (int)X.dim()).Where(i => O.dim() != X.dim() || (O.shape[i] == 1 && X.shape[i] != 1)).Select(i => (long)i).ToArray();
            string dimText = O.numel() == 1 && O.dim() != X.dim() ? "" : $"[{string.Join(", ", dims)}], keepdim: true";
            forms.Add(() => new("mean", $"({d} / {n}).expand_as({x})", $"mean backward is mean_backward: grad.expand(self's shape) / {n}", h()));
            forms.Add(() => new("sum", $"{d}.expand_as({x})", "sum backward is grad.expand(self's shape)", g.expand_as(X)));
            forms.Add(() => new("the mean of a square (x*x or x.pow(2), then mean)", $"({d} / {n}).expand_as({x}) * {x} * 2",
                $"mean backward divides by {n} first (grad.expand / {n}); the square's backward then multiplies by {x}, once per use of {x}", h() * X * 2,
                Twice: $"({d} / {n}).expand_as({x}) * {x}"));
            forms.Add(() => new("var", $"(2.0 / {n - 1}) * {d} * ({x} - {x}.mean({dimText}))",
                "var backward is var_backward(grad, self, dim, correction) = (2 / (n − correction)) · grad · (self − self.mean(dim, keepdim))",
                2.0 / (n - 1) * g * (X - (dims.Length == X.dim() && O.dim() != X.dim() ? X.mean() : X.mean(dims, keepdim: true)))));
        }

        // Two inputs: a product, a quotient, a sum or difference (with a broadcast summed back), a matmul.
        if (others.Count == 1)
        {
            var Y = tape[others[0]].detach();
            string y = others[0];
            bool first = s.Inputs[0] == x;
            if (g.shape.SequenceEqual(O.shape) && X.dim() >= 2 && Y.dim() == X.dim() && O.dim() == X.dim())
                forms.Add(() => Product(X, Y, O, g, first, x, y, d));
            if (g.shape.SequenceEqual(O.shape))
            {
                forms.Add(() => new("mul", ReduceText($"{d} * {y}", X, O), "mul backward is grad * other, summed to self's shape", ReduceTo(g * Y, X)));
                forms.Add(() => first ? new("add", ReduceText(d, X, O), "add backward is grad, summed to self's shape", ReduceTo(g, X)) : null);
                forms.Add(() => !first ? new("sub", ReduceText($"-{d}", X, O), "sub backward of other is -grad, summed to other's shape", ReduceTo(-g, X)) : null);
                forms.Add(() => first ? new("div", ReduceText($"{d} / {y}", X, O), "div backward of self is grad / other", ReduceTo(g / Y, X)) : null);
                forms.Add(() => !first ? new("div", ReduceText($"-{d} * (({y} / {x}) / {x})", X, O), "div backward of other is -grad * ((self / other) / other)", ReduceTo(-g * (Y / X / X), X)) : null);
            }
        }

        foreach (var make in forms)
        {
            Form? f;
            try
            {
                f = make();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                continue; // a form that does not apply to these shapes
            }
            if (f is not null) yield return f;
        }
    }

    /// <summary>
    /// A step that multiplies its two inputs as matrices (batched or not), the other one possibly transposed
    /// (<c>q.matmul(k.transpose(-2, -1))</c>) and the product possibly scaled (<c>* scale</c>): autograd scales the
    /// gradient first, then multiplies it with the other operand.
    /// </summary>
    private static Form? Product(Tensor X, Tensor Y, Tensor O, Tensor g, bool first, string x, string y, string d)
    {
        string T(string n) => $"{n}.transpose(-2, -1)";
        var Yt = Y.transpose(-2, -1);
        // (the product's value, the gradient's form given the scaled upstream gradient, its text)
        var shapes = first
            ? new (Tensor? P, Func<Tensor, Tensor?> Back, Func<string, string> Text)[]
            {
                (Mm(X, Y), gs => Mm(gs, Yt), gs => $"{gs}.matmul({T(y)})"),
                (Mm(X, Yt), gs => Mm(gs, Y), gs => $"{gs}.matmul({y})"),
            }
            : [
                (Mm(Y, X), gs => Mm(Yt, gs), gs => $"{T(y)}.matmul({gs})"),
                (Mm(Y, X.transpose(-2, -1)), gs => Mm(gs.transpose(-2, -1), Y), gs => $"{T(gs)}.matmul({y})"),
            ];
        foreach (var (P, back, text) in shapes)
        {
            if (P is null || !P.shape.SequenceEqual(O.shape)) continue;
            double? c = Same(P, O) ? 1 : ScaleOf(P, O);
            if (c is not { } k) continue;
            var gs = k == 1 ? g : g * k;
            string gsText = k == 1 ? d : $"({d} * {Num(k)})";
            if (back(gs) is { } value && value.shape.SequenceEqual(X.shape))
                return new(k == 1 ? "matmul" : $"matmul scaled by {Num(k)}", text(gsText),
                    "matmul/mm/bmm backward is grad.matmul(other.transpose) for the first operand, self.transpose.matmul(grad) for the second" +
                    (k == 1 ? "" : $"; the scalar's mul backward comes first: grad * {Num(k)}"), value);
        }
        return null;
    }

    /// <summary>a.matmul(b) when the shapes multiply, else null: libtorch's matmul ends the process on a shape error.</summary>
    internal static Tensor? Mm(Tensor a, Tensor b) =>
        a.dim() >= 2 && a.dim() == b.dim() && a.shape[..^2].SequenceEqual(b.shape[..^2]) && a.shape[^1] == b.shape[^2] ? a.matmul(b) : null;

    /// <summary>The scalar c with p·c bitwise equal to o, read off the largest element, or null.</summary>
    private static double? ScaleOf(Tensor p, Tensor o)
    {
        if (p.numel() == 0) return null;
        var i = p.abs().flatten().argmax().item<long>();
        double pi = p.flatten()[i].to_type(ScalarType.Float64).item<double>(), oi = o.flatten()[i].to_type(ScalarType.Float64).item<double>();
        if (pi == 0 || oi == 0) return null;
        foreach (double c in new[] { Nice(oi / pi), oi / pi })
            if (Same(p * c, o)) return c;
        return null;
    }

    /// <summary>out = x·c or x / c for a scalar c read off the step's own values: grad * c, grad / c.</summary>
    private static Form? ScalarFactor(Tensor X, Tensor O, Tensor g, string x, string d)
    {
        if (X.numel() == 0) return null;
        var i = X.abs().flatten().argmax().item<long>();
        double xi = X.flatten()[i].to_type(ScalarType.Float64).item<double>(), oi = O.flatten()[i].to_type(ScalarType.Float64).item<double>();
        if (xi == 0 || oi == 0) return null;
        foreach (double c in new[] { Nice(oi / xi), oi / xi })
            if (Same(X * c, O)) return new($"mul by the scalar {Num(c)}", $"{d} * {Num(c)}", "mul backward by a scalar is grad * other", g * c);
        foreach (double c in new[] { Nice(xi / oi), xi / oi })
            if (Same(X / c, O)) return new($"div by the scalar {Num(c)}", $"{d} / {Num(c)}", "div backward by a scalar is grad / other", g / c);
        return null;
    }

    /// <summary>An integer or a short decimal when <paramref name="c"/> is one to float32 precision.</summary>
    private static double Nice(double c)
    {
        double r = Math.Round(c);
        if (r != 0 && Math.Abs(c - r) <= 1e-6 * Math.Abs(r)) return r;
        return double.Parse(c.ToString("G7", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private static string Num(double v) => v.ToString("G7", CultureInfo.InvariantCulture);

    /// <summary>Sums a broadcast gradient back to <paramref name="x"/>'s shape, as autograd's sum_to_size does.</summary>
    private static Tensor ReduceTo(Tensor t, Tensor x)
    {
        if (t.shape.SequenceEqual(x.shape)) return t;
        long lead = t.dim() - x.dim();
        var dims = Enumerable.Range(0, (int)t.dim()).Where(i => i < lead || (x.shape[i - lead] == 1 && t.shape[i] != 1)).Select(i => (long)i).ToArray();
        var r = t.sum(dims, keepdim: true);
        return lead > 0 ? r.reshape(x.shape) : r;
    }

    private static string ReduceText(string text, Tensor x, Tensor o)
    {
        if (x.shape.SequenceEqual(o.shape)) return text;
        long lead = o.dim() - x.dim();
        var dims = Enumerable.Range(0, (int)o.dim()).Where(i => i < lead || (x.shape[i - lead] == 1 && o.shape[i] != 1)).ToList();
        return $"({text}).sum([{string.Join(", ", dims)}], keepdim: {(lead > 0 ? "false" : "true")})";
    }

    /// <summary>What is said when no form reproduces a step's backward: a native kernel, or a step of several ops.</summary>
    private static string Unknown(StepTape tape, StepTape.StepRecord s, string x)
    {
        var X = tape[x].detach();
        var O = tape[s.Name].detach();
        if (X.dim() >= 1 && X.shape.SequenceEqual(O.shape))
        {
            try
            {
                if (Same(F.layer_norm(X, [X.shape[^1]]), O))
                    return $"layer_norm (step {s.Name}) rounds differently: its backward is native_layer_norm_backward, " + Native;
                foreach (long dim in new long[] { -1, 0 })
                {
                    if (Same(F.softmax(X, dim), O))
                        return $"softmax (step {s.Name}) rounds differently: its backward is _softmax_backward_data, " + Native;
                    if (Same(F.log_softmax(X, dim), O))
                        return $"log_softmax (step {s.Name}) rounds differently: its backward is _log_softmax_backward_data, " + Native;
                }
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
            }
        }
        return $"no single-op form reproduces the local backward of step {s.Name} bitwise " +
               "(cross_entropy and layer_norm are native kernels; a step of several ops: split it into one-op steps to find the one that rounds differently)";
    }
}
