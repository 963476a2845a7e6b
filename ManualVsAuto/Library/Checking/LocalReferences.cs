using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// A tensor's local reference: the vector-Jacobian product of the steps that consume it, re-evaluated on detached
/// inputs so that only those steps' local derivatives count, fed the caller's gradients of their outputs. A row
/// equal to its local reference is right given what it received; a row that differs is wrong on its own line.
/// </summary>
internal static class LocalReferences
{
    /// <summary>
    /// The local reference of <paramref name="name"/>'s gradient, with <paramref name="manualOf"/>'s gradients of
    /// its consumers as grad_outputs (autograd's where it gives none), all in one autograd.grad call so the
    /// contributions add up in autograd's order; with <paramref name="from"/>, through every step up to that one.
    /// Null when no recorded step consumes the tensor.
    /// </summary>
    public static Tensor? Of(StepTape tape, string name, Func<string, Tensor?> manualOf, string? from = null) =>
        from is null ? Shares(tape, name, manualOf, split: false)?[0].Share : Span(tape, name, from, manualOf);

    /// <summary>
    /// The local reference of a formula that spans the steps from <paramref name="name"/> to <paramref name="from"/>:
    /// every step in between re-evaluated from a detached copy of the tensor, with the caller's gradient of
    /// <paramref name="from"/> as grad_output.
    /// </summary>
    public static Tensor? Span(StepTape tape, string name, string from, Func<string, Tensor?> manualOf)
    {
        using var grad = enable_grad();
        var x = tape[name].detach().requires_grad_(true);
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [name] = x };
        foreach (var s in tape.Steps)
        {
            if (!s.Inputs.Any(values.ContainsKey) || values.ContainsKey(s.Name)) continue;
            values[s.Name] = s.F(n => values.TryGetValue(n, out var v) ? v : tape[n].detach());
            if (s.Name == from) break;
        }
        if (!values.TryGetValue(from, out var output) || from == name) return null;
        var g = (manualOf(from) ?? tape[from].grad ?? zeros_like(output)).detach().to_type(output.dtype);
        return autograd.grad([output], [x], [g], allow_unused: true)[0] is { } r && !r.IsInvalid ? r : zeros_like(x);
    }

    /// <summary>The local reference, or (<paramref name="split"/>) each consumer's share of it, by step name.</summary>
    public static List<(string Step, Tensor Share)>? Shares(StepTape tape, string name, Func<string, Tensor?> manualOf, bool split)
    {
        var consumers = tape.Consumers(name).ToList();
        if (consumers.Count == 0) return null;
        using var grad = enable_grad();
        var x = tape[name].detach().requires_grad_(true);
        Tensor Input(string n) => n == name ? x : tape[n].detach();
        var outputs = consumers.Select(s => s.F(Input)).ToList();
        var gradOutputs = consumers.Select((s, i) =>
        {
            var g = manualOf(s.Name) ?? tape[s.Name].grad ?? zeros_like(outputs[i]);
            return g.detach().to_type(outputs[i].dtype);
        }).ToList();
        Tensor Vjp(IList<Tensor> o, IList<Tensor> g) =>
            autograd.grad(o, [x], g, retain_graph: split, allow_unused: true)[0] is { } r && !r.IsInvalid ? r : zeros_like(x);
        if (!split) return [("", Vjp(outputs, gradOutputs))];
        return consumers.Select((s, i) => (s.Name, Vjp([outputs[i]], [gradOutputs[i]]))).ToList();
    }
}
