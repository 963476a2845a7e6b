using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>
/// A manual parameter gradient that is autograd's without one path: an intermediate used twice in the lecture's
/// forward (<see cref="StepByStepForward"/>: hprebn by bndiff and bnmeani, bndiff by bndiff2 and bnraw, …) whose
/// gradient got one consumer's share only (<c>=</c> where <c>+=</c> adds the second), or an embedding row read more
/// than once whose gradient kept one read's share (a scatter that overwrote). Each share is autograd's own
/// (<see cref="LocalReferences"/>, as <c>check</c> splits a row), carried down to the parameter by autograd; a
/// signature must hold within the training tolerance, element by element, so a hint is never a guess.
/// </summary>
internal static class OneConsumersShare
{
    public static MistakeHint? Diagnose(string parameter, Tensor manual, MlpParameters p, Tensor Xb, Tensor Yb)
    {
        using var scope = NewDisposeScope();
        using var grad = enable_grad();
        var q = p.Copy(requiresGrad: true);
        var check = new GradientCheck();
        var f = StepByStepForward.Run(q, Xb, Yb, check);
        var target = q.Named.Single(t => t.Name == parameter).Tensor;
        f.loss.backward(retain_graph: true);
        var full = target.grad!.detach().clone();
        bool Fits(Tensor expected) => manual.shape.SequenceEqual(expected.shape) &&
            Cmp.CompareValues(parameter, manual, expected, Tolerance.Training).Passed;
        if (Fits(full)) return null;

        var tape = check.Tape;
        foreach (var name in tape.Steps.Select(s => s.Name))
        {
            var consumers = tape.Consumers(name).Select(s => s.Name).ToList();
            if (consumers.Count < 2 || q.Named.Any(t => t.Name == name)) continue;
            foreach (var (step, share) in LocalReferences.Shares(tape, name, _ => null, split: true)!)
            {
                var carried = autograd.grad([tape[name]], [target], [share], retain_graph: true, allow_unused: true)[0];
                if (carried is null || carried.IsInvalid || !Fits(full - carried)) continue;
                return new MistakeHint("one consumer's share only (= for +=)",
                    $"hint: d{parameter} is autograd's without the path through {step}: {name} is used twice (by {string.Join(" and ", consumers)}), " +
                    $"and d{name} got one consumer's share only — add the gradients of both uses (+=, not =).");
            }
        }
        if (parameter == "C")
        {
            // How often each row of C is read in this minibatch: a row read twice or more that kept one read's share overwrote.
            var uses = zeros_like(p.C).index_add_(0, Xb.view(-1), ones(Xb.numel(), p.C.size(1), dtype: p.C.dtype), 1.0);
            if (MistakeHints.Diagnose(manual, full, p.C.shape, uses: uses) is { Cause: "a scatter that overwrote" } overwrote)
                return new MistakeHint("one read's share only (= for +=)", overwrote.Text);
        }
        return null;
    }
}
