using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// The checker's own float64 side for the step form: the recorded steps evaluated again on float64 copies of what
/// they read, then autograd in float64, giving autograd's float64 gradient of every step's tensor without asking the
/// user. The loss is computed outside the steps, so the replay starts from autograd's float32 gradients where the
/// steps end (each tensor's gradient from uses outside the steps); everything between is float64.
/// </summary>
/// <remarks>
/// A step's function may hold float tensors in its closure (the data, <c>x.matmul(v("W1"))</c>): those held in fields
/// (captured variables, arrays of tensors, the closures of functions it calls) are swapped for float64 copies while
/// the step runs and put back after. A
/// module in a closure keeps float32 parameters that cannot be swapped: such a step is refused, with the reason on
/// the rows it would have decided, rather than run (libtorch's matmul on mixed dtypes ends the process).
/// </remarks>
internal sealed class Float64Replay
{
    private Float64Replay(StepTape? tape, string? refusal) => (Tape, Refusal) = (tape, refusal);

    /// <summary>The float64 tape, its tensors' gradients filled in; null when refused.</summary>
    public StepTape? Tape { get; }

    /// <summary>Why there is no replay, one line.</summary>
    public string? Refusal { get; }

    /// <summary>What a replay holds: a float64 value and gradient for every tracked tensor.</summary>
    public static long Bytes(StepTape tape) => tape.Names.Sum(n => tape[n].numel()) * sizeof(double) * 2;

    /// <summary>Replays <paramref name="tape"/>'s steps in float64 (its tensors' float32 gradients must be there; the caller
    /// skips a tape none of whose steps reads another, where there is nothing to replay).</summary>
    public static Float64Replay Run(StepTape tape)
    {
        var t64 = new StepTape();
        using (enable_grad())
        {
            void Leaf(string n) => t64.Track(n, tape[n].detach().to_type(ScalarType.Float64).requires_grad_(true));
            foreach (var s in tape.Steps)
            {
                if (s.Inputs.Count == 0) { Leaf(s.Name); continue; }
                foreach (var n in s.Inputs.Where(n => !t64.Contains(n))) Leaf(n);
                using var closure = ClosureSwap.Of(s.F);
                if (closure.Refusal is { } why) return new(null, $"step '{s.Name}' {why}");
                Tensor value;
                try
                {
                    value = t64.Step(s.Name, s.F);
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    return new(null, $"step '{s.Name}' failed in float64: {e.Message.Split('\n')[0]}");
                }
                if (value.dtype != ScalarType.Float64)
                    return new(null, $"step '{s.Name}' computed {value.dtype} in the float64 replay: it reads a tensor the checker cannot convert (make it a step)");
            }

            // Where the steps end: each tensor's gradient from uses outside the steps (the loss), as autograd gave it.
            var outputs = new List<Tensor>();
            var grads = new List<Tensor>();
            foreach (var s in tape.Steps)
            {
                var g = tape[s.Name].grad;
                if (g is null) continue;
                var outside = tape.Consumers(s.Name).Any() ? Outside(tape, s.Name, g) : g;
                if (outside is null) continue;
                outputs.Add(t64[s.Name]);
                grads.Add(outside.detach().to_type(ScalarType.Float64));
            }
            if (outputs.Count == 0) return new(null, "no step's tensor has a gradient: call Backward(loss) before Compare");
            autograd.backward(outputs, grads);
        }
        return new(t64, null);
    }

    /// <summary>
    /// The part of <paramref name="name"/>'s gradient that does not come through its consuming steps (a use by the
    /// loss outside the steps), or null when there is none beyond float32 rounding.
    /// </summary>
    private static Tensor? Outside(StepTape tape, string name, Tensor grad)
    {
        var through = LocalReferences.Of(tape, name, _ => null);
        if (through is null) return grad;
        var rest = grad - through;
        double scale = VerdictEngine.MaxAbs(grad);
        return VerdictEngine.MaxAbs(rest) > 1e-3 * scale ? rest : null;
    }
}
