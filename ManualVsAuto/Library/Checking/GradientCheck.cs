using ManualVsAuto.Reporting;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// The reusable mechanism behind every report: register the forward steps you want checked by name
/// (<see cref="Track"/> keeps their gradients), run <see cref="Backward"/>, then hand in your manual
/// gradients by name with <see cref="Compare"/>. <see cref="ToText"/> is the report;
/// <see cref="AssertAllExact"/> and <see cref="AssertAllClose"/> throw a <see cref="GradientAssertionException"/>
/// whose message is the table of the failing rows.
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
    /// One line over the rows, e.g. <c>8/8 exact · 1/1 approximate by construction · numeric 4/4 pass</c>.
    /// </summary>
    public string Summary => RowsText.Summary(Rows);

    /// <summary>The report: every row as a plain-text table (no colours), then <see cref="Summary"/>.</summary>
    public string ToText()
    {
        var rows = Rows;
        return rows.Count == 0 ? Summary + "\n" : RowsText.Table(rows) + Summary + "\n";
    }

    /// <summary>
    /// Whether every row meets <paramref name="level"/> (rows that cannot be exact are judged approximate, and a
    /// failed finite-difference check fails its row); false when nothing was compared.
    /// </summary>
    public bool Passes(RequiredLevel level)
    {
        var rows = Rows;
        return rows.Count > 0 && rows.All(r => r.Meets(level));
    }

    /// <summary>
    /// Every compared gradient is bitwise equal to autograd's, except rows compared with <c>expectExact: false</c>,
    /// which must be allclose. Throws a <see cref="GradientAssertionException"/> listing the failing rows.
    /// </summary>
    public void AssertAllExact() => Assert(RequiredLevel.Exact);

    /// <summary>
    /// Every compared gradient is allclose to autograd's (rtol 1e-5, atol 1e-8, torch.allclose's defaults).
    /// Throws a <see cref="GradientAssertionException"/> listing the failing rows.
    /// </summary>
    public void AssertAllClose() => Assert(RequiredLevel.Approx);

    /// <summary>
    /// Every compared gradient meets <paramref name="level"/>, and every finite-difference check that was run
    /// passed. Throws a <see cref="GradientAssertionException"/> whose message is the table of the failing rows and
    /// a one-line summary; also when nothing was compared, so a forgotten <see cref="Compare"/> cannot pass.
    /// </summary>
    public void Assert(RequiredLevel level)
    {
        var rows = Rows;
        string what = level == RequiredLevel.Exact ? nameof(AssertAllExact) : nameof(AssertAllClose);
        if (rows.Count == 0)
            throw new GradientAssertionException(
                $"{what} failed: no manual gradient was compared; call Compare(name, manualGradient) after Backward(loss).",
                level, []);
        var failing = rows.Where(r => !r.Meets(level)).ToList();
        if (failing.Count == 0) return;

        string required = level == RequiredLevel.Exact
            ? "bitwise equal to autograd's" + (rows.Any(r => !r.ExpectExact) ? " (rows marked * allclose)" : "")
            : FormattableString.Invariant($"allclose to autograd's (rtol {Cmp.DefaultRtol:0e-0}, atol {Cmp.DefaultAtol:0e-0})");
        if (failing.Any(r => r.Numeric is { Passed: false })) required += " and passing the finite-difference check";
        throw new GradientAssertionException(
            $"{what} failed: {failing.Count} of {rows.Count} gradients {(failing.Count == 1 ? "is" : "are")} not {required}:\n" +
            RowsText.Table(failing) + Summary,
            level, failing);
    }

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
