using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>
/// Clones of an answer's input tensors taken before it runs, to catch an answer that changes one in place
/// (<c>mul_</c>, <c>add_</c>, an indexed assignment): in the notebook that corrupts every later line that reads it,
/// even when the answer's own value is right. Compared bitwise, NaN equal to NaN.
/// </summary>
internal sealed class InputSnapshot
{
    private readonly List<(string Name, Tensor Input, Tensor Clone)> inputs = [];

    public InputSnapshot(IEnumerable<(string Name, Tensor Input)> tensors)
    {
        using (no_grad())
            foreach (var (name, t) in tensors) inputs.Add((name, t, t.detach().clone()));
    }

    /// <summary>The inputs that changed, each with the in-place op that explains it when one of the others does (e.g. "mul_" by bnraw).</summary>
    public IReadOnlyList<(string Name, string? Op, string? By)> Changed()
    {
        var changed = new List<(string, string?, string?)>();
        using var scope = NewDisposeScope();
        using var mode = no_grad();
        foreach (var (name, input, clone) in inputs)
        {
            if (Same(input, clone)) continue;
            var (op, by) = Explain(input, clone, name);
            changed.Add((name, op, by));
        }
        return changed;
    }

    /// <summary>The name of the input <paramref name="t"/> is, by reference (an answer that returns its input), or null.</summary>
    public string? NameOf(Tensor t) => inputs.FirstOrDefault(i => ReferenceEquals(i.Input, t) || i.Input.Handle == t.Handle).Name;

    private (string? Op, string? By) Explain(Tensor now, Tensor before, string name)
    {
        foreach (var (other, _, y) in inputs)
        {
            if (other == name || y.dtype != before.dtype) continue;
            foreach (var (op, f) in Ops)
            {
                try
                {
                    if (Same(now, f(before, y))) return (op, other);
                }
                catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or ArgumentException) { } // shapes that do not broadcast
            }
        }
        return (null, null);
    }

    private static readonly (string Op, Func<Tensor, Tensor, Tensor> F)[] Ops =
        [("mul_", (a, b) => a * b), ("add_", (a, b) => a + b), ("sub_", (a, b) => a - b), ("div_", (a, b) => a / b)];

    /// <summary>Bitwise the same values (NaN equals NaN), shape and dtype.</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var scope = NewDisposeScope();
        if (!a.is_floating_point()) return a.eq(b).all().item<bool>();
        return (a.eq(b) | (a.isnan() & b.isnan())).all().item<bool>();
    }
}
