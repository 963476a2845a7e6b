using TorchSharp;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// The rules of <see cref="FunctionCheck"/>, run in order on fresh forwards of one Function. Each rule adds its rows;
/// a forward or backward that throws adds a failing row to the rule that called it.
/// </summary>
internal sealed class RuleTest
{
    private readonly FunctionSubject subject;
    private readonly FunctionCheckOptions o;
    private readonly string[] names;
    private readonly Tensor[] values; // float64 copies of the inputs
    private string[] outNames = [];
    private long[][] outShapes = [];

    public List<RuleRow> Rows { get; } = [];
    public List<string> Skipped { get; } = [];

    public RuleTest(FunctionSubject subject, IReadOnlyList<(string Name, Tensor Value)> inputs, FunctionCheckOptions o)
    {
        this.subject = subject;
        this.o = o;
        names = inputs.Select(i => i.Name).ToArray();
        using var noGrad = no_grad();
        values = inputs.Select(i => i.Value.detach().to_type(ScalarType.Float64, copy: true).contiguous()).ToArray();
    }

    private FiniteDifferenceOptions Fd => o.FiniteDifferences with { Seed = o.FiniteDifferences.Seed ^ o.Seed };

    public void RunAll()
    {
        if (!Runs())
        {
            Skipped.Add("every other rule: the Function does not run (see Runs)");
            return;
        }
        Gradient();
        Repeat();
        ZeroGradOutput();
        UndefinedGradOutput();
        Batch();
        SecondOrder();
        ExplainNumericFailures();
    }

    // ---- Runs, Mutation, Alias: one forward and one backward, bitwise snapshots around the backward ----------------

    private bool Runs()
    {
        var run = Start(FunctionRule.Runs);
        if (run is null) return false;
        if (run.Outputs.Length == 0) return Fail(FunctionRule.Runs, null, null, "the forward returned no outputs");
        outNames = o.OutputNames?.ToArray() ?? (run.Outputs.Length == 1 ? ["y"] : run.Outputs.Select((_, k) => "y" + k).ToArray());
        if (outNames.Length != run.Outputs.Length)
            throw new GradientCheckException($"OutputNames has {outNames.Length} names but the forward returns {run.Outputs.Length} outputs.");
        for (int k = 0; k < run.Outputs.Length; k++)
        {
            var y = run.Outputs[k];
            if (y is null || y.IsInvalid) return Fail(FunctionRule.Runs, null, outNames[k], $"the forward returned no tensor as output {outNames[k]}");
            if (!y.is_floating_point())
                throw new GradientCheckException($"Output {outNames[k]} is {y.dtype}: the rule test needs floating outputs.");
            if (y.dtype != ScalarType.Float64)
                return Fail(FunctionRule.Runs, null, outNames[k],
                    $"output {outNames[k]} is {y.dtype} for float64 inputs: the forward must keep its inputs' dtype (the rule test runs in float64, which finite differences need)");
        }
        outShapes = run.Outputs.Select(y => y.shape.ToArray()).ToArray();

        var v = Cotangent("runs");
        using var before = InputMutation.Snapshot(Watched(run, v));
        var called = Call(FunctionRule.Runs, run, v, null, watching: true);
        if (called is null) return false;
        Pass(FunctionRule.Runs, null, null,
            $"the forward returns {run.Outputs.Length} output{(run.Outputs.Length == 1 ? "" : "s")} and the backward one gradient per input, of its shape");

        var changed = before.Changed();
        var returned = called.Value.Raw.Select((g, j) => (names[j], g!)).Where(p => p.Item2 is not null).ToList();
        var aliases = before.Aliases(returned);
        foreach (var c in changed)
        {
            var alias = aliases.FirstOrDefault(a => a.Input == c.Name);
            Rows.Add(new RuleRow(FunctionRule.Mutation, RuleStatus.Fail, c.Name, null, c.FirstIndex,
                c.FirstIndex is null ? null : c.Before, c.FirstIndex is null ? null : c.After,
                $"the backward changed {c.Name} in place: {c.Text}" +
                (alias is null ? "" : $", and returned it as the gradient of {alias.Output}") +
                "; compute into a new tensor (an in-place op on what the backward reads corrupts other uses of it)"));
        }
        if (changed.Count == 0)
            Pass(FunctionRule.Mutation, null, null,
                $"the backward leaves the inputs, outputs, {run.Saved.Count} saved tensor{(run.Saved.Count == 1 ? "" : "s")} and grad_output unchanged, bit for bit");

        // An incoming gradient passed through unchanged is allowed (libtorch accepts it, as PyTorch does).
        var bad = aliases.Where(a => !a.Input.StartsWith("grad_output", StringComparison.Ordinal) && changed.All(c => c.Name != a.Input)).ToList();
        foreach (var a in bad)
            Rows.Add(new RuleRow(FunctionRule.Alias, RuleStatus.Fail, a.Output, null, null, null, null,
                $"the gradient of {a.Output} is {(a.SameHandle ? "" : "a view of ")}{a.Input} itself: zeroing or updating one changes the other; return a new tensor"));
        if (bad.Count == 0) Pass(FunctionRule.Alias, null, null, "no gradient is (a view of) an input, an output or a saved tensor");
        return true;
    }

    /// <summary>What the backward must not change: inputs, outputs, saved tensors with their own storage, and grad_output.</summary>
    private List<(string, Tensor)> Watched(FunctionRun run, Tensor[]? gradOutputs)
    {
        var watched = new List<(string, Tensor)>();
        for (int j = 0; j < names.Length; j++) watched.Add(("input " + names[j], run.Inputs[j]));
        for (int k = 0; k < run.Outputs.Length; k++) watched.Add(("output " + outNames[k], run.Outputs[k]));
        for (int i = 0; i < run.Saved.Count; i++)
        {
            var s = run.Saved[i];
            // A saved input or output is watched under its own name already.
            if (watched.Any(w => w.Item2.dtype == s.dtype && InputMutation.SharesStorage(w.Item2, s))) continue;
            watched.Add(($"saved tensor {i}", s));
        }
        if (gradOutputs is not null)
            for (int k = 0; k < gradOutputs.Length; k++) watched.Add(("grad_output of " + outNames[k], gradOutputs[k]));
        return watched;
    }

    // ---- Gradient and Reference: every input × every output, each with its own random cotangent ---------------------

    private void Gradient()
    {
        for (int k = 0; k < outNames.Length; k++)
        {
            using var scope = NewDisposeScope();
            var v = OneOutput(k, Cotangent("gradient " + k)[k]);
            var run = Start(FunctionRule.Gradient, output: outNames[k]);
            if (run is null) continue;
            var called = Call(FunctionRule.Gradient, run, v, outNames[k]);
            if (called is null) continue;
            var manual = called.Value.Grads;
            var manualByName = names.Select((n, j) => (n, manual[j])).ToDictionary(p => p.n, p => p.Item2, StringComparer.Ordinal);
            int kk = k;
            IReadOnlyList<NumericResult> results;
            try
            {
                results = FiniteDifference.Check(Named(), xs => (v[kk] * subject.Evaluate(xs)[kk]).sum(), manualByName, Fd);
            }
            catch (Exception e)
            {
                Fail(FunctionRule.Gradient, null, outNames[k], $"the forward threw during finite differences: {Describe(e)}");
                continue;
            }
            for (int j = 0; j < results.Count; j++)
                Rows.Add(NumericRow(FunctionRule.Gradient, results[j], outNames[k], called.Value.Raw[j] is null,
                    "the backward", "finite differences of the forward"));

            if (o.Reference is not null) Reference(k, v, manual);
        }
        if (o.Reference is null) Skipped.Add("reference: no Reference forward given");
    }

    private void Reference(int k, Tensor[] v, Tensor[] manual)
    {
        Tensor[] ys;
        Tensor[] leaves = Leaves(values);
        try
        {
            using (enable_grad()) ys = o.Reference!(leaves) ?? throw new InvalidOperationException("the reference returned null");
            if (ys.Length != outNames.Length)
                throw new InvalidOperationException($"the reference returns {ys.Length} outputs, the Function {outNames.Length}");
            if (k == 0)
            {
                Tensor[] mine;
                using (no_grad()) mine = subject.Evaluate(values.Select(x => x.clone()).ToList());
                for (int i = 0; i < ys.Length; i++)
                {
                    var row = Cmp.CompareValues(outNames[i], mine[i].detach(), ys[i].detach(), o.ReferenceTolerance);
                    Rows.Add(row.Approximate
                        ? new RuleRow(FunctionRule.Reference, RuleStatus.Pass, null, outNames[i], null, null, null,
                            $"the forward's {outNames[i]} matches the reference's ({o.ReferenceTolerance.Text})")
                        : new RuleRow(FunctionRule.Reference, RuleStatus.Fail, null, outNames[i], row.WorstIndex, row.ReferenceAtWorst, row.ManualAtWorst,
                            $"the forward's {outNames[i]} differs from the reference's at {row.WorstIndexText}: {Show(row.ManualAtWorst)} vs the reference's {Show(row.ReferenceAtWorst)} (maxdiff {NumberFormat.Diff(row.MaxDiff)}; {o.ReferenceTolerance.Text}): the reference computes another function"));
                }
            }
            var refGrads = autograd.grad([ys[k]], leaves, [v[k]], allow_unused: true);
            for (int j = 0; j < names.Length; j++)
            {
                var r = refGrads[j] is { } t && !t.IsInvalid ? t : zeros_like(values[j]);
                var row = Cmp.CompareValues(names[j], manual[j], r.detach(), o.ReferenceTolerance);
                Rows.Add(row.Approximate
                    ? new RuleRow(FunctionRule.Reference, RuleStatus.Pass, names[j], outNames[k], null, null, null,
                        $"the backward matches the reference's autograd ({o.ReferenceTolerance.Text})")
                    : new RuleRow(FunctionRule.Reference, RuleStatus.Fail, names[j], outNames[k], row.WorstIndex, row.ReferenceAtWorst, row.ManualAtWorst,
                        $"the gradient of {outNames[k]} w.r.t. {names[j]} at {row.WorstIndexText}: the backward gives {Show(row.ManualAtWorst)} but autograd of the reference {Show(row.ReferenceAtWorst)} " +
                        $"(maxdiff {NumberFormat.Diff(row.MaxDiff)}, {row.NotClose} of {manual[j].numel()} elements not close; {o.ReferenceTolerance.Text})"));
            }
        }
        catch (Exception e)
        {
            Fail(FunctionRule.Reference, null, outNames[k], $"the reference threw: {Describe(e)}");
        }
    }

    // ---- Repeat: two calls with the same incoming gradient ------------------------------------------------------

    private void Repeat()
    {
        using var scope = NewDisposeScope();
        var run = Start(FunctionRule.Repeat);
        if (run is null) return;
        var v = Cotangent("repeat");
        using var before = InputMutation.Snapshot(Watched(run, null));
        var first = Call(FunctionRule.Repeat, run, v, null);
        if (first is null) return;
        // A backward that changed what it reads is reported once, as a mutation: libtorch's version counter would
        // refuse the second call's saved tensors, and restoring them would bump it too.
        if (before.Changed().Count > 0)
        {
            Skipped.Add("repeat: the first call changed what the second would read (see Mutation)");
            return;
        }
        var second = Call(FunctionRule.Repeat, run, v, null);
        if (second is null) return;
        for (int j = 0; j < names.Length; j++)
        {
            Tensor a = first.Value.Grads[j], b = second.Value.Grads[j];
            if (InputMutation.BitwiseEqual(a, b))
            {
                Pass(FunctionRule.Repeat, names[j], null, "a second call returns the same gradient, bit for bit");
                continue;
            }
            var row = Cmp.CompareValues(names[j], b, a, new Tolerance(0, o.NondeterminismTolerance));
            if (row.Approximate)
            {
                Pass(FunctionRule.Repeat, names[j], null,
                    $"nondeterministic: two calls differ by up to {NumberFormat.Diff(row.MaxDiff)}, within NondeterminismTolerance {NumberFormat.Diff(o.NondeterminismTolerance)}");
                continue;
            }
            bool twice = a.ne(0).any().item<bool>() && b.allclose(2 * a, 1e-9, 1e-12);
            Rows.Add(new RuleRow(FunctionRule.Repeat, RuleStatus.Fail, names[j], null, row.WorstIndex, row.ReferenceAtWorst, row.ManualAtWorst,
                (twice
                    ? $"accumulates across calls: the second call returned twice the first for {names[j]} (state kept between calls adds to the result)"
                    : $"the second call's gradient of {names[j]} differs from the first by up to {NumberFormat.Diff(row.MaxDiff)}: state kept between calls, or nondeterminism beyond NondeterminismTolerance ({NumberFormat.Diff(o.NondeterminismTolerance)})") +
                $"; at {row.WorstIndexText} the first call gave {Show(row.ReferenceAtWorst)}, the second {Show(row.ManualAtWorst)}"));
        }
    }

    // ---- ZeroGradOutput: a zero incoming gradient, and if that fails, whether the backward ignores it --------------

    private void ZeroGradOutput()
    {
        using var scope = NewDisposeScope();
        var run = Start(FunctionRule.ZeroGradOutput);
        if (run is null) return;
        var zero = outShapes.Select(s => zeros(s, ScalarType.Float64)).ToArray();
        var called = Call(FunctionRule.ZeroGradOutput, run, zero, null);
        if (called is null) return;
        Tensor[]? random = null;
        for (int j = 0; j < names.Length; j++)
        {
            var g = called.Value.Grads[j];
            var nonzero = g.ne(0).logical_or(g.isnan()).reshape(-1);
            long count = nonzero.sum().item<long>();
            if (count == 0)
            {
                Pass(FunctionRule.ZeroGradOutput, names[j], null, "a zero grad_output gives a zero gradient");
                continue;
            }
            long first = nonzero.nonzero()[0, 0].item<long>();
            double value = g.reshape(-1)[first].item<double>();
            random ??= RandomGradients();
            bool ignores = random is not null && random[j].allclose(g, 1e-9, 1e-12);
            Rows.Add(new RuleRow(FunctionRule.ZeroGradOutput, RuleStatus.Fail, names[j], null, ElementStats.Unravel(first, g.shape), 0, value,
                (ignores
                    ? $"not multiplied by grad_output: the gradient of {names[j]} is the same for a zero grad_output as for a random one; multiply the local derivative by grad_output"
                    : $"a zero grad_output gives a nonzero gradient of {names[j]}: a term that does not scale with grad_output") +
                $" ({count} of {g.numel()} elements nonzero)"));
        }

        Tensor[]? RandomGradients()
        {
            var other = Start(FunctionRule.ZeroGradOutput);
            return other is null ? null : Call(FunctionRule.ZeroGradOutput, other, Cotangent("zero"), null)?.Grads;
        }
    }

    // ---- UndefinedGradOutput: autograd calls the backward with the other outputs' gradients undefined ------------

    private void UndefinedGradOutput()
    {
        if (!subject.HasContext)
        {
            Skipped.Add("undefined grad_output: the Function is given as delegates (no context to call set_materialize_grads(false) on)");
            return;
        }
        if (outNames.Length == 1)
        {
            Skipped.Add("undefined grad_output: one output (autograd always passes its gradient)");
            return;
        }
        for (int k = 0; k < outNames.Length; k++)
        {
            using var scope = NewDisposeScope();
            var byAutograd = Start(FunctionRule.UndefinedGradOutput, output: outNames[k]);
            if (byAutograd is null) return;
            if (byAutograd.MaterializeGrads)
            {
                Skipped.Add("undefined grad_output: the forward does not call ctx.set_materialize_grads(false), so TorchSharp passes zeros for an output not used");
                return;
            }
            var v = OneOutput(k, Cotangent("undefined " + k)[k]);
            var direct = Start(FunctionRule.UndefinedGradOutput, output: outNames[k]);
            if (direct is null) return;
            var withZeros = Call(FunctionRule.UndefinedGradOutput, direct, v, outNames[k]);
            if (withZeros is null) return;
            string others = string.Join(", ", outNames.Where((_, i) => i != k));
            Tensor[] grads;
            try
            {
                grads = autograd.grad([byAutograd.Outputs[k]], byAutograd.Inputs, [v[k]], allow_unused: true).ToArray();
            }
            catch (Exception e)
            {
                Fail(FunctionRule.UndefinedGradOutput, null, outNames[k], $"autograd failed with the grad_output of {others} undefined: {Describe(e)}");
                continue;
            }
            if (byAutograd.Hooks!.Error is { } error)
            {
                Fail(FunctionRule.UndefinedGradOutput, null, outNames[k],
                    $"the backward threw with the grad_output of {others} undefined (set_materialize_grads(false)): {Describe(error)}; test g.IsInvalid before using it");
                continue;
            }
            for (int j = 0; j < names.Length; j++)
            {
                var g = grads[j] is { } t && !t.IsInvalid ? t : zeros_like(values[j]);
                var row = Cmp.CompareValues(names[j], g, withZeros.Value.Grads[j], new Tolerance(1e-12, 1e-14));
                Rows.Add(row.Approximate
                    ? new RuleRow(FunctionRule.UndefinedGradOutput, RuleStatus.Pass, names[j], outNames[k], null, null, null,
                        $"with the grad_output of {others} undefined, the same gradient as with zeros there")
                    : new RuleRow(FunctionRule.UndefinedGradOutput, RuleStatus.Fail, names[j], outNames[k], row.WorstIndex, row.ReferenceAtWorst, row.ManualAtWorst,
                        $"with the grad_output of {others} undefined, the gradient of {names[j]} at {row.WorstIndexText} is {Show(row.ManualAtWorst)}, but {Show(row.ReferenceAtWorst)} with zeros there"));
            }
        }
    }

    // ---- Batch: each example alone against its row of the batch -------------------------------------------------

    private void Batch()
    {
        if (o.BatchedInputs is not { } batchedNames)
        {
            Skipped.Add("batch: no BatchedInputs given");
            return;
        }
        using var scope = NewDisposeScope();
        var batched = names.Select(n => batchedNames.Contains(n)).ToArray();
        long b = values[Array.IndexOf(batched, true)].shape[0];
        for (int k = 0; k < outShapes.Length; k++)
            if (outShapes[k].Length == 0 || outShapes[k][0] != b)
            {
                Fail(FunctionRule.Batch, null, outNames[k],
                    $"output {outNames[k]} has shape {Cmp.Shape(outShapes[k])}: with batched inputs every output's dim 0 must be the batch ({b})");
                return;
            }
        var run = Start(FunctionRule.Batch);
        if (run is null) return;
        var v = Cotangent("batch");
        var all = Call(FunctionRule.Batch, run, v, null);
        if (all is null) return;

        var alone = names.Select(_ => new List<Tensor>()).ToArray();
        for (long e = 0; e < b; e++)
        {
            var example = values.Select((x, j) => batched[j] ? x.narrow(0, e, 1) : x).ToArray();
            var one = Start(FunctionRule.Batch, values: example);
            if (one is null) return;
            var g = Call(FunctionRule.Batch, one, v.Select(t => t.narrow(0, e, 1)).ToArray(), null);
            if (g is null) return;
            for (int j = 0; j < names.Length; j++) alone[j].Add(g.Value.Grads[j]);
        }
        for (int j = 0; j < names.Length; j++)
        {
            var expected = batched[j] ? cat(alone[j], 0) : stack(alone[j]).sum(0, keepdim: false);
            var row = Cmp.CompareValues(names[j], all.Value.Grads[j], expected, o.BatchTolerance);
            if (row.Approximate)
            {
                Pass(FunctionRule.Batch, names[j], null, batched[j]
                    ? $"each of the {b} examples' gradient alone equals its row of the batched gradient"
                    : $"the batched gradient is the sum of the {b} examples' gradients");
                continue;
            }
            Rows.Add(new RuleRow(FunctionRule.Batch, RuleStatus.Fail, names[j], null, row.WorstIndex, row.ReferenceAtWorst, row.ManualAtWorst,
                batched[j]
                    ? $"rows leak across the batch: in the batch the gradient of {names[j]} at {row.WorstIndexText} is {Show(row.ManualAtWorst)}, but example {row.WorstIndex![0]} alone gives {Show(row.ReferenceAtWorst)} ({BatchToleranceText})"
                    : $"the batched gradient of {names[j]} at {row.WorstIndexText} is {Show(row.ManualAtWorst)}, but the examples' gradients sum to {Show(row.ReferenceAtWorst)} ({BatchToleranceText})"));
        }
    }

    private string BatchToleranceText => FormattableString.Invariant(
        $"tolerance {o.BatchTolerance.Atol:0e-0} + {o.BatchTolerance.Rtol:0e-0}·{(o.BatchTolerance.RelativeToLargest ? "max|alone|" : "|alone|")}");

    // ---- SecondOrder: autograd through the backward against finite differences of the backward --------------------

    private void SecondOrder()
    {
        if (!o.SecondOrder)
        {
            Skipped.Add("second order: opt-in (SecondOrder = true)");
            return;
        }
        using var scope = NewDisposeScope();
        var run = Start(FunctionRule.SecondOrder);
        if (run is null) return;
        var v = Cotangent("second order");
        using var g = new Generator(Seed("second order u"));
        var u = values.Select(x => randn(x.shape, dtype: ScalarType.Float64, generator: g)).ToArray();

        Tensor[] h;
        try
        {
            using var grad = enable_grad();
            var s = Projected(run.Backward(v.Select(t => t.clone()).ToArray()));
            h = s.requires_grad
                ? autograd.grad([s], run.Inputs, allow_unused: true).Select((t, j) => t is { } r && !r.IsInvalid ? r.detach() : zeros_like(values[j])).ToArray()
                : values.Select(x => zeros_like(x)).ToArray();
        }
        catch (Exception e)
        {
            Fail(FunctionRule.SecondOrder, null, null, $"the backward could not be differentiated: {Describe(e)}");
            return;
        }
        IReadOnlyList<NumericResult> results;
        try
        {
            results = FiniteDifference.Check(Named(), xs =>
            {
                FunctionRun r;
                using (enable_grad()) r = subject.Forward(Leaves(xs));
                using (no_grad()) return Projected(r.Backward(v.Select(t => t.clone()).ToArray()));
            }, names.Select((n, j) => (n, h[j])).ToDictionary(p => p.n, p => p.Item2, StringComparer.Ordinal), Fd);
        }
        catch (Exception e)
        {
            Fail(FunctionRule.SecondOrder, null, null, $"the Function threw during finite differences of the backward: {Describe(e)}");
            return;
        }
        foreach (var r in results)
            Rows.Add(NumericRow(FunctionRule.SecondOrder, r, null, false, "autograd through the backward", "finite differences of the backward",
                $"the backward's own gradient (of uᵀ·backward(v)) w.r.t. {r.Name}"));

        // uᵀ·backward(v): a scalar whose gradient is the backward's own gradient projected on u.
        Tensor Projected(IReadOnlyList<Tensor?> grads)
        {
            var total = zeros([], ScalarType.Float64);
            for (int j = 0; j < names.Length; j++)
                if (grads[j] is { } t && !t.IsInvalid) total = total + (u[j] * t).sum();
            return total;
        }
    }

    // ---- Explained: numeric failures that a structural failure accounts for --------------------------------------

    private void ExplainNumericFailures()
    {
        var cause = Rows.FirstOrDefault(r => r.Failed && r.Rule is FunctionRule.Mutation or FunctionRule.Alias or FunctionRule.Repeat
            or FunctionRule.ZeroGradOutput or FunctionRule.UndefinedGradOutput or FunctionRule.Batch);
        if (cause is null) return;
        for (int i = 0; i < Rows.Count; i++)
            if (Rows[i] is { Failed: true, Rule: FunctionRule.Gradient or FunctionRule.Reference or FunctionRule.SecondOrder } r)
                Rows[i] = r with
                {
                    Status = RuleStatus.Explained,
                    Message = r.Message + $" — may follow from the failing {cause.Rule} rule (on {cause.Input ?? cause.Output ?? "the Function"}); fix that first",
                };
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private RuleRow NumericRow(
        FunctionRule rule, NumericResult r, string? output, bool returnedNull, string manualName, string numericName, string? what = null)
    {
        what ??= $"the gradient of {output} w.r.t. {r.Name}";
        string excused = r.Excused == 0 ? "" :
            $"; finite differences unreliable here at {r.Excused} of {r.Checked} elements (a kink between x − eps and x + eps), " +
            $"first at [{string.Join(", ", r.FirstExcusedIndex!)}]: central difference {Show(r.AtFirstExcused!.Value.Numeric)}, {manualName} {Show(r.AtFirstExcused.Value.Manual)} — not counted";
        if (r.Passed)
            return new RuleRow(rule, r.Excused > 0 ? RuleStatus.Excused : RuleStatus.Pass, r.Name, output, null, null, null,
                $"{manualName} matches {numericName} at {r.Checked} elements (worst {r.WorstRatio:G3}× tolerance){excused}");
        if (r.WorstRatio <= 1 && r.Excused > 0) // failed only by the cap on excused elements
            return new RuleRow(rule, RuleStatus.Fail, r.Name, output, r.FirstExcusedIndex, r.AtFirstExcused!.Value.Numeric, r.AtFirstExcused.Value.Manual,
                $"{what}: {r.Note}");
        return new RuleRow(rule, RuleStatus.Fail, r.Name, output, r.WorstIndex, r.NumericAtWorst, r.ManualAtWorst,
            $"{what} at {r.WorstText}: {manualName} gives {Show(r.ManualAtWorst)} but {numericName} {Show(r.NumericAtWorst)} " +
            $"(|diff| {NumberFormat.Diff(r.WorstAbsDiff)}, {r.WorstRatio:G3}× the tolerance {r.Atol:0e-0} + {r.Rtol:0e-0}·|numeric|; {r.Checked} elements checked)" +
            (returnedNull ? "; the backward returned no gradient (null) for it" : "") + excused +
            (r.Note is null ? "" : "; " + r.Note));
    }

    /// <summary>A fresh forward on leaf copies of <paramref name="values"/> (the inputs by default); a throw is a failing row.</summary>
    private FunctionRun? Start(FunctionRule rule, string? output = null, Tensor[]? values = null)
    {
        try
        {
            return subject.Forward(Leaves(values ?? this.values));
        }
        catch (Exception e)
        {
            Fail(rule, null, output, $"the forward threw: {Describe(e)}");
            return null;
        }
    }

    /// <summary>
    /// Calls the backward directly; a throw, a missing or misshapen gradient is a failing row. Null gradients become
    /// zeros. The backward gets copies of <paramref name="gradOutputs"/> (a backward that writes into them is found
    /// once, by the mutation rule, and the other rules keep their cotangents), unless <paramref name="watching"/>.
    /// </summary>
    private (Tensor?[] Raw, Tensor[] Grads)? Call(FunctionRule rule, FunctionRun run, Tensor[] gradOutputs, string? output, bool watching = false)
    {
        IReadOnlyList<Tensor?> returned;
        try
        {
            using var noGrad = no_grad();
            var given = watching ? gradOutputs : gradOutputs.Select(t => t.clone()).ToArray();
            returned = run.Backward(given) ?? throw new InvalidOperationException("the backward returned null");
        }
        catch (Exception e)
        {
            Fail(rule, null, output, $"the backward threw: {Describe(e)}");
            return null;
        }
        int extra = o.Args.Length;
        if (returned.Count < names.Length || returned.Count > names.Length + extra || returned.Skip(names.Length).Any(t => t is not null && !t.IsInvalid))
        {
            Fail(rule, null, output, $"the backward returned {returned.Count} gradients for {names.Length} tensor input{(names.Length == 1 ? "" : "s")}" +
                (extra > 0 ? $" and {extra} non-tensor argument{(extra == 1 ? "" : "s")} (which get null)" : ""));
            return null;
        }
        var raw = new Tensor?[names.Length];
        var grads = new Tensor[names.Length];
        for (int j = 0; j < names.Length; j++)
        {
            var g = returned[j];
            var x = run.Inputs[j];
            if (g is null || g.IsInvalid)
            {
                grads[j] = zeros(x.shape, ScalarType.Float64);
                continue;
            }
            if (!g.shape.SequenceEqual(x.shape))
            {
                Fail(rule, names[j], output, $"the backward returned a gradient of shape {Cmp.Shape(g.shape)} for {names[j]} of shape {Cmp.Shape(x.shape)}");
                return null;
            }
            if (g.dtype != ScalarType.Float64)
            {
                Fail(rule, names[j], output, $"the backward returned a {g.dtype} gradient for the float64 input {names[j]}: keep the input's dtype");
                return null;
            }
            raw[j] = g;
            grads[j] = g.detach();
        }
        return (raw, grads);
    }

    private static Tensor[] Leaves(IReadOnlyList<Tensor> xs)
    {
        using var noGrad = no_grad();
        return xs.Select(x => x.detach().clone().requires_grad_(true)).ToArray();
    }

    private List<(string, Tensor)> Named() => names.Select((n, j) => (n, values[j])).ToList();

    /// <summary>A random incoming gradient for every output, seeded by the seed and what it is for.</summary>
    private Tensor[] Cotangent(string purpose)
    {
        using var g = new Generator(Seed(purpose));
        return outShapes.Select(s => randn(s, dtype: ScalarType.Float64, generator: g)).ToArray();
    }

    /// <summary>Output k's incoming gradient <paramref name="v"/>, zeros for the others.</summary>
    private Tensor[] OneOutput(int k, Tensor v) =>
        outShapes.Select((s, i) => i == k ? v : zeros(s, ScalarType.Float64)).ToArray();

    /// <summary>FNV-1a of the purpose mixed into the seed: stable across processes.</summary>
    private ulong Seed(string purpose)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in purpose)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        return o.Seed ^ h;
    }

    private void Pass(FunctionRule rule, string? input, string? output, string message) =>
        Rows.Add(new RuleRow(rule, RuleStatus.Pass, input, output, null, null, null, message));

    private bool Fail(FunctionRule rule, string? input, string? output, string message)
    {
        Rows.Add(new RuleRow(rule, RuleStatus.Fail, input, output, null, null, null, message));
        return false;
    }

    private static string Describe(Exception e) => $"{e.GetType().Name}: {e.Message.Split('\n')[0]}";

    private static string Show(double d) => NumberFormat.Value(d);

}
