using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// The reusable mechanism behind every report: register the forward steps you want checked by name
/// (<see cref="Track"/> keeps their gradients), run <see cref="Backward"/>, then hand in your manual
/// gradients by name with <see cref="Compare"/>.
/// </summary>
public sealed class GradientCheck
{
    private readonly Dictionary<string, Tensor> tracked = new(StringComparer.Ordinal);
    private readonly List<GradientRow> rows = [];

    /// <summary>Registers <paramref name="t"/> under <paramref name="name"/>, keeping its gradient, and returns it.</summary>
    public Tensor Track(string name, Tensor t)
    {
        if (!t.requires_grad)
            throw new GradientCheckException($"'{name}' does not require a gradient: it is not on an autograd path.");
        if (!t.is_leaf) t.retain_grad();
        if (!tracked.TryAdd(name, t)) throw new GradientCheckException($"'{name}' is tracked twice.");
        return t;
    }

    public IReadOnlyCollection<string> Names => tracked.Keys;

    public Tensor this[string name] => tracked.TryGetValue(name, out var t)
        ? t
        : throw new GradientCheckException($"'{name}' was never tracked; tracked are: {string.Join(", ", tracked.Keys)}.");

    /// <summary>Autograd's backward from a scalar loss.</summary>
    public void Backward(Tensor loss) => loss.backward();

    /// <summary>Compares a manual gradient with the tracked tensor's autograd gradient and records the row.</summary>
    /// <param name="label">How the row is labelled in the report; defaults to <paramref name="name"/>.</param>
    /// <param name="expectExact">False when the manual formula differs from autograd's by construction (judged approximate).</param>
    public GradientRow Compare(string name, Tensor manual, string? label = null, bool expectExact = true)
    {
        var row = Cmp.Compare(label ?? name, manual, this[name]) with { ExpectExact = expectExact };
        rows.Add(row);
        return row;
    }

    public IReadOnlyList<GradientRow> Rows => rows;
}
