using ManualVsAuto.Checking;
using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>
/// An answer's input tensors as they were before it ran, to catch an answer that changes one in place
/// (<c>mul_</c>, <c>add_</c>, an indexed assignment): in the notebook that corrupts every later line that reads it,
/// even when the answer's own value is right. The clones and the bitwise comparison are the check's
/// (<see cref="InputMutation"/>, shared with the custom-Function rule tests); this adds the learner's explanation.
/// </summary>
internal sealed class InputSnapshot(IEnumerable<(string Name, Tensor Input)> tensors) : IDisposable
{
    private readonly InputMutation mutation = InputMutation.Snapshot(tensors);
    private readonly Dictionary<string, Tensor> current = tensors.ToDictionary(t => t.Name, t => t.Input);

    /// <summary>The inputs that changed, each with the in-place op that explains it when one of the others does (e.g. "mul_" by bnraw).</summary>
    public IReadOnlyList<(string Name, string? Op, string? By)> Changed()
    {
        using var scope = NewDisposeScope();
        using var mode = no_grad();
        return [.. mutation.Changed().Select(c => Explain(c.Name))];
    }

    /// <summary>The name of the input <paramref name="t"/> is itself (an answer that returns its input), or null; a
    /// view of an input (the lecture's <c>demb</c> from <c>dembcat.view</c>) is not one.</summary>
    public string? NameOf(Tensor t) => mutation.Aliases([("returned", t)]).FirstOrDefault(a => a.SameHandle)?.Input;

    public void Dispose() => mutation.Dispose();

    private (string Name, string? Op, string? By) Explain(string name)
    {
        var (now, before) = (current[name], mutation.Before(name));
        foreach (var other in mutation.Names)
        {
            var y = mutation.Before(other);
            if (other == name || y.dtype != before.dtype) continue;
            foreach (var (op, f) in Ops)
            {
                try
                {
                    if (InputMutation.BitwiseEqual(now, f(before, y))) return (name, op, other);
                }
                catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException or ArgumentException) { } // shapes that do not broadcast
            }
        }
        return (name, null, null);
    }

    private static readonly (string Op, Func<Tensor, Tensor, Tensor> F)[] Ops =
        [("mul_", (a, b) => a * b), ("add_", (a, b) => a + b), ("sub_", (a, b) => a - b), ("div_", (a, b) => a / b)];
}
