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
    private readonly List<(string TensorName, GradientRow Row, Tensor Manual)> compared = [];

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
        compared.Add((name, row, manual));
        return row;
    }

    /// <summary>The rows so far, in the order they were compared.</summary>
    public IReadOnlyList<GradientRow> Rows => compared.Select(c => c.Row).ToList();

    /// <summary>
    /// The third oracle: checks the manual gradients of <paramref name="inputs"/> (tracked leaves, already compared)
    /// against central finite differences of <paramref name="f"/>, and adds the verdict to their rows.
    /// </summary>
    /// <param name="f">The scalar loss as a function of the inputs, in the order given; it receives float64 copies.</param>
    public IReadOnlyList<NumericResult> CheckNumerically(
        IReadOnlyList<string> inputs, Func<IReadOnlyList<Tensor>, Tensor> f, FiniteDifferenceOptions? options = null)
    {
        var manual = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in inputs)
        {
            int i = compared.FindIndex(c => c.TensorName == name);
            if (i < 0) throw new GradientCheckException($"'{name}' has no manual gradient yet: call Compare(\"{name}\", ...) first.");
            manual[name] = compared[i].Manual;
        }
        var results = FiniteDifference.Check(inputs.Select(n => (n, this[n])).ToList(), f, manual, options);
        foreach (var r in results)
        {
            int i = compared.FindIndex(c => c.TensorName == r.Name);
            compared[i] = compared[i] with { Row = compared[i].Row with { Numeric = r } };
        }
        return results;
    }
}
