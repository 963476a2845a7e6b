using System.Globalization;

namespace ManualVsAuto.Checking;

/// <summary>The rules <see cref="FunctionCheck"/> holds a custom autograd Function's backward to.</summary>
public enum FunctionRule
{
    /// <summary>The forward and the backward run, and the backward returns one gradient per input of its shape and dtype.</summary>
    Runs,

    /// <summary>The backward against float64 central finite differences of the forward, with a random cotangent, per input and output.</summary>
    Gradient,

    /// <summary>The backward against autograd of a reference forward (when one is given), per input and output; and the forwards agree.</summary>
    Reference,

    /// <summary>The backward leaves its inputs, the forward's outputs, its saved tensors and its incoming gradient unchanged.</summary>
    Mutation,

    /// <summary>No returned gradient is (a view of) an input, an output or a saved tensor.</summary>
    Alias,

    /// <summary>A second call with the same incoming gradient returns the same gradients.</summary>
    Repeat,

    /// <summary>A zero incoming gradient gives zero gradients (the backward is multiplied by its incoming gradient).</summary>
    ZeroGradOutput,

    /// <summary>With <c>set_materialize_grads(false)</c>: an undefined incoming gradient is handled as zeros.</summary>
    UndefinedGradOutput,

    /// <summary>With batched inputs: each example's gradient alone equals its row of the batched gradient.</summary>
    Batch,

    /// <summary>Opt-in: the backward's own gradient (through autograd) against finite differences of the backward.</summary>
    SecondOrder,
}

/// <summary>How a rule row came out.</summary>
public enum RuleStatus
{
    Pass,

    /// <summary>
    /// Passes, but finite differences were unreliable at some elements (a kink between x − eps and x + eps) and those
    /// were not counted; see <see cref="FiniteDifferenceOptions.ExcuseKinks"/>.
    /// </summary>
    Excused,

    /// <summary>
    /// A numeric rule (gradient, reference, second order) that fails while a structural rule (mutation, repeat, zero,
    /// undefined, batch) fails too: its numbers may follow from that mistake, so it is not counted as a failure of its own.
    /// </summary>
    Explained,

    Fail,
}

/// <summary>
/// One rule on one input and/or output. For a numeric rule, <see cref="Expected"/> is the oracle's value (finite
/// differences, the reference's autograd, the example's gradient alone, the first call) at <see cref="Index"/> and
/// <see cref="Actual"/> the backward's; <see cref="Message"/> says which is which in words.
/// </summary>
/// <param name="Rule">The rule.</param>
/// <param name="Status">Pass, excused, explained or fail.</param>
/// <param name="Input">The input (or the tensor, for a mutation) the row is about; null when it is about no input.</param>
/// <param name="Output">The output whose incoming gradient was used; null when all were (or none).</param>
/// <param name="Index">The element, e.g. <c>[2, 5]</c>; null when the row is not about one element.</param>
/// <param name="Expected">The oracle's value at <see cref="Index"/>.</param>
/// <param name="Actual">The backward's value there.</param>
/// <param name="Message">What was checked and what was found.</param>
public sealed record RuleRow(
    FunctionRule Rule,
    RuleStatus Status,
    string? Input,
    string? Output,
    long[]? Index,
    double? Expected,
    double? Actual,
    string Message)
{
    public bool Failed => Status == RuleStatus.Fail;

    public string IndexText => Index is null ? "-" : "[" + string.Join(", ", Index) + "]";
}

/// <summary>The outcome of <see cref="FunctionCheck"/>: a row per rule and input/output, and the checks not run.</summary>
public sealed class FunctionCheckResult
{
    internal FunctionCheckResult(string function, IReadOnlyList<RuleRow> rows, IReadOnlyList<string> skipped)
    {
        Function = function;
        Rows = rows;
        Skipped = skipped;
    }

    /// <summary>The Function's name (its <c>Name</c>, or the name given with delegates).</summary>
    public string Function { get; }

    /// <summary>Every row, in the order the rules ran.</summary>
    public IReadOnlyList<RuleRow> Rows { get; }

    /// <summary>The checks that did not run, each with why (e.g. no batched inputs given).</summary>
    public IReadOnlyList<string> Skipped { get; }

    /// <summary>The failing rows.</summary>
    public IReadOnlyList<RuleRow> Failures => Rows.Where(r => r.Failed).ToList();

    /// <summary>The rules that failed, each once, in order.</summary>
    public IReadOnlyList<FunctionRule> FailedRules => Failures.Select(r => r.Rule).Distinct().ToList();

    /// <summary>No row fails (excused and explained rows do not; an explained row comes with a failing one).</summary>
    public bool Passed => !Rows.Any(r => r.Failed);

    /// <summary>E.g. <c>Gelu: 9/10 rules pass · 1 fails (Mutation) · 1 excused at kinks · skipped: batch</c>.</summary>
    public string Summary
    {
        get
        {
            int fail = Rows.Count(r => r.Failed), excused = Rows.Count(r => r.Status == RuleStatus.Excused);
            int explained = Rows.Count(r => r.Status == RuleStatus.Explained);
            var parts = new List<string> { $"{Function}: {Rows.Count - fail}/{Rows.Count} rows pass" };
            if (fail > 0) parts.Add($"{fail} fail ({string.Join(", ", FailedRules)})");
            if (explained > 0) parts.Add($"{explained} explained by them");
            if (excused > 0) parts.Add($"{excused} with elements excused at kinks (finite differences unreliable there)");
            if (Skipped.Count > 0) parts.Add("not run: " + string.Join("; ", Skipped));
            return string.Join(" · ", parts);
        }
    }

    /// <summary>The table of all rows and the summary line.</summary>
    public string ToText() => Table(Rows) + Summary + "\n";

    /// <summary>
    /// Throws a <see cref="GradientAssertionException"/> when a row fails: its message is the table of the failing
    /// (and explained) rows, each naming the rule, input, output, element, both values and what was found, and the summary.
    /// </summary>
    public void Assert()
    {
        if (Passed) return;
        var shown = Rows.Where(r => r.Status is RuleStatus.Fail or RuleStatus.Explained).ToList();
        var failures = Failures;
        throw new GradientAssertionException(
            $"Rule test of {Function} failed: {failures.Count} row{(failures.Count == 1 ? " fails" : "s fail")}:\n" + Table(shown) + Summary,
            failures);
    }

    public override string ToString() => Summary;

    private static string Table(IReadOnlyList<RuleRow> rows)
    {
        var lines = new List<string[]> { new[] { "rule", "status", "input", "output", "element", "expected", "backward", "message" } };
        foreach (var r in rows)
            lines.Add(
            [
                r.Rule.ToString(),
                r.Status.ToString().ToLowerInvariant(),
                r.Input ?? "-",
                r.Output ?? "-",
                r.IndexText,
                r.Expected is { } e ? Value(e) : "-",
                r.Actual is { } a ? Value(a) : "-",
                r.Message,
            ]);
        return PlainTable.Columns(lines, new HashSet<int> { 5, 6 });
    }

    private static string Value(double d) => d.ToString("G9", CultureInfo.InvariantCulture);
}
