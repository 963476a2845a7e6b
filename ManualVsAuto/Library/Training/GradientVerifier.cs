using System.Globalization;
using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Reporting;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Training;

/// <summary>
/// <c>--verify-every K</c>: on the side of training, autograd's forward and backward on the same minibatch, compared
/// with the manual backward's parameter gradients by <c>check</c>'s comparison (<see cref="Cmp.CompareValues"/>) at
/// the training tolerance (<see cref="Tolerance.Training"/>, which says why it is not allclose).
/// </summary>
public static class GradientVerifier
{
    /// <summary>The MLP: the loop-step trainer's gradients against autograd's on a copy of its parameters.</summary>
    public static IReadOnlyList<GradientRow> Verify(LoopStepTrainer trainer, Tensor Xb, Tensor Yb)
    {
        using var scope = NewDisposeScope();
        var manual = trainer.Gradients(Xb, Yb);
        // Autograd through the MLP's layers on a copy, so the trained parameters never take part in a graph;
        // batch statistics, as in training.
        var q = trainer.Parameters.Copy(requiresGrad: true);
        using var net = new Mlp(q);
        F.cross_entropy(net.Forward(Xb, ForwardMode.Inspect), Yb).backward();
        // In the layers' order, not the lecture's (bngain and bnbias last), so that a mistake in dlogits is found at b2.
        var rows = Compare(q.InLayerOrder.Zip(manual.InLayerOrder, (a, m) => (a.Name, m.Tensor, a.Tensor.grad!)).ToList());
        return NameOneConsumersShare(rows, manual, trainer.Parameters, Xb, Yb);
    }

    /// <summary>
    /// The likely origin (the first wrong row) with its hint replaced when its manual gradient is autograd's without
    /// one path: one consumer's share only of a tensor used twice (<c>=</c> where <c>+=</c> adds the second), or of
    /// an embedding row read twice (<see cref="OneConsumersShare"/>). The other rows are returned as they are.
    /// </summary>
    /// <param name="rows">In backward order, named by the parameter (<c>W1</c>) or its gradient (<c>dW1</c>).</param>
    /// <param name="manual">The manual gradients; <paramref name="p"/> the parameters they were computed at.</param>
    public static IReadOnlyList<GradientRow> NameOneConsumersShare(IReadOnlyList<GradientRow> rows, MlpParameters manual, MlpParameters p, Tensor Xb, Tensor Yb)
    {
        int at = rows.ToList().FindIndex(r => r.Verdict == Verdict.Wrong);
        if (at < 0) return rows;
        string parameter = p.Named.Any(t => t.Name == rows[at].Name) ? rows[at].Name : rows[at].Name[1..];
        var mine = manual.Named.Single(t => t.Name == parameter).Tensor;
        if (OneConsumersShare.Diagnose(parameter, mine, p, Xb, Yb) is not { } hint) return rows;
        var named = rows.ToList();
        named[at] = named[at] with { Hint = hint.Text, Cause = hint.Cause };
        return named;
    }

    /// <summary>
    /// Each parameter's manual gradient against autograd's, at the training tolerance, listed in backward order (the
    /// parameters' forward order reversed) as <c>check</c> lists its rows. Whole gradients are compared, not single
    /// lines, so only the order tells where a mistake is, as in <c>check</c> for a row without steps: the first failing
    /// row is the likely origin (with the hint), later failing rows may inherit from upstream.
    /// </summary>
    public static IReadOnlyList<GradientRow> Compare(IReadOnlyList<(string Name, Tensor Manual, Tensor Autograd)> forwardOrder)
    {
        var rows = new List<GradientRow>(forwardOrder.Count);
        foreach (var (name, manual, autograd) in forwardOrder.Reverse())
        {
            var row = Cmp.CompareValues(name, manual, autograd, Tolerance.Training);
            if (row.Verdict == Verdict.Wrong && rows.Any(r => !r.Passed))
                row = row with { Verdict = Verdict.Inherits, Hint = null, Cause = null };
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>
    /// A manual gradient that equals the sum of autograd's over steps 0–<paramref name="step"/> (within the training
    /// tolerance): the backward accumulates across steps. Null when it is not that.
    /// </summary>
    public static string? Accumulated(Tensor manual, Tensor sumOfSteps, int step)
    {
        if (!manual.shape.SequenceEqual(sumOfSteps.shape) || manual.dtype != sumOfSteps.dtype) return null;
        if (!Cmp.CompareValues("sum", manual, sumOfSteps, Tolerance.Training).Passed) return null;
        return $"at step {step} equals the sum of autograd's gradients of steps 0–{step}: the gradients were never zeroed — " +
               "PyTorch and TorchSharp accumulate them (+=), so each step's must start from zero";
    }

    /// <summary>
    /// The manual gradients asked twice on the same minibatch and parameters: a backward that keeps a gradient from one
    /// call to the next (never zeroed, or += on a field) gives another value the second time. The names of those
    /// parameters; empty for a backward without state.
    /// </summary>
    public static IReadOnlyList<string> KeepsState(IReadOnlyList<GradientRow> first, IReadOnlyList<GradientRow> second) =>
        first.Zip(second).Where(p => p.First.Name == p.Second.Name &&
            (p.First.MaxDiff.CompareTo(p.Second.MaxDiff) != 0 || p.First.ManualAtWorst.CompareTo(p.Second.ManualAtWorst) != 0))
            .Select(p => p.First.Name).ToList();

    /// <summary>The note after a verification that passed, e.g. <c>step 100: the 7 manual parameter gradients match
    /// autograd (1/7 exact, 7/7 approximate; nearest the training tolerance: W1, at 1.2% of it)</c>.</summary>
    public static string Passed(int step, IReadOnlyList<GradientRow> rows)
    {
        var nearest = rows.MaxBy(r => r.ToleranceUsed)!;
        return string.Create(CultureInfo.InvariantCulture,
            $"step {step}: the {rows.Count} manual parameter gradients match autograd ({PlainTable.Summary(rows)}; nearest the training tolerance: {nearest.Name}, at {nearest.ToleranceUsed * 100:0.0}% of it)");
    }

    /// <summary>Why training stopped, then one line per failing parameter, as <c>check</c> prints its rows' details.</summary>
    /// <param name="again">The same verification asked a second time, when the loop could: names a backward that accumulates.</param>
    public static string Failed(int step, IReadOnlyList<GradientRow> rows, IReadOnlyList<GradientRow>? again = null)
    {
        var failing = rows.Where(r => !r.Passed).ToList();
        string accumulates = again is not null && KeepsState(rows, again) is { Count: > 0 } kept
            ? $" The manual gradient of {string.Join(", ", kept)} changes from one call to the next on the same minibatch: your backward accumulates " +
              "gradients across steps (never zeroed, or = where a fresh gradient must start) — PyTorch and TorchSharp accumulate them (+=), so each step's must start from zero."
            : "";
        return $"gradient verification failed at step {step}: {failing.Count} of the {rows.Count} manual parameter gradients are not within " +
               $"the training tolerance of autograd's ({Tolerance.Training.Text}): {PlainTable.Summary(rows)}. Training stopped; the last checkpoint is kept." + accumulates +
               string.Concat(failing.Select(r => "\n  " + SharedReportText.Detail(r)));
    }
}
