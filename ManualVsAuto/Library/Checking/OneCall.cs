using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>Settings of the one call <see cref="GradientCheck.Of"/>; the defaults suit the common case.</summary>
public sealed record OneCallOptions
{
    /// <summary>
    /// Also checks every named input that has a manual gradient against central finite differences of the forward, in
    /// float64 (gradcheck's third oracle; each element costs two forwards). Null (the default): no finite differences.
    /// </summary>
    public FiniteDifferenceOptions? FiniteDifferences { get; init; }

    /// <summary>
    /// Rerun the forward and your backward on float64 copies of the inputs to decide float32 rows that are not
    /// allclose (default true). A backward that does not return float64 gradients on float64 inputs is not rerun:
    /// the recorded steps are then replayed in float64 (<see cref="GradientCheck.ReplayInFloat64"/>) and
    /// <see cref="GradientCheck.Float64RerunRefusal"/> says why.
    /// </summary>
    public bool RerunInFloat64 { get; init; } = true;

    /// <summary>Rows whose manual formula differs from autograd's by construction (judged approximate, as <c>expectExact: false</c>).</summary>
    public IReadOnlyCollection<string> Approximate { get; init; } = [];
}

public sealed partial class GradientCheck
{
    /// <summary>
    /// Why the one call's float64 rerun of the model cannot be used (its rows are then decided by the replay), or null
    /// when it can or is not needed (float64 inputs). The rerun is made once, when a row first needs it or this is read.
    /// </summary>
    public string? Float64RerunRefusal
    {
        get
        {
            _ = float64.Side();
            return float64RerunRefusal;
        }
    }

    private string? float64RerunRefusal;

    /// <summary>
    /// The one call, like <c>torch.autograd.gradcheck</c> for a hand-written backward: runs <paramref name="forward"/>
    /// in the step form on leaf copies of <paramref name="inputs"/>, autograd's backward from the loss it returns, then
    /// <paramref name="backward"/> on the forward's values, and compares every gradient it returns, in its order
    /// (backward order), with local verdicts. Float32 rows that are not allclose are decided by rerunning the forward
    /// and the backward on float64 copies; finite differences when <see cref="OneCallOptions.FiniteDifferences"/> is set.
    /// The result is the check itself: <see cref="Rows"/>, <see cref="Summary"/>, <see cref="ToText"/>, <see cref="Assert"/>.
    /// </summary>
    /// <param name="inputs">
    /// The parameters and data by name, float32 or float64 (never modified; the check makes its own leaves). An input
    /// that requires grad is a parameter and must get a gradient from <paramref name="backward"/>; one that does not
    /// (data, a target) may. Indices and other integer tensors stay in the closure.
    /// </param>
    /// <param name="forward">
    /// The model: named steps over the inputs and earlier steps, read by name, e.g.
    /// <c>m =&gt; { var h = m.Step("h", v =&gt; v("x").matmul(v("W")).tanh()); return h.pow(2).mean(); }</c>; it returns the scalar loss.
    /// </param>
    /// <param name="backward">
    /// Your backward, from the forward's values by name (detached; run under no_grad), returning named gradients of
    /// inputs and steps in backward order, e.g. <c>v =&gt; [("h", dh), ("W", dW)]</c>. Written with the values it is
    /// given (not float32 constants), it also runs on float64 values.
    /// </param>
    /// <exception cref="GradientCheckException">Bad use: no or disposed or integer inputs, inputs of mixed dtypes, a loss that is not a scalar of the inputs, a gradient of an unknown name, returned twice, or missing for a parameter.</exception>
    public static GradientCheck Of(
        Dictionary<string, Tensor> inputs,
        Func<IStepRecorder, Tensor> forward,
        Func<Func<string, Tensor>, IEnumerable<(string Name, Tensor Gradient)>> backward,
        OneCallOptions? options = null)
    {
        if (inputs is null || inputs.Count == 0) throw new GradientCheckException("GradientCheck.Of needs the model's inputs by name: got none.");
        if (forward is null) throw new GradientCheckException("GradientCheck.Of was given null instead of the forward.");
        if (backward is null) throw new GradientCheckException("GradientCheck.Of was given null instead of the backward.");
        var o = options ?? new OneCallOptions();
        foreach (var (name, t) in inputs)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new GradientCheckException($"GradientCheck.Of needs a name for every input: got \"{name}\".");
            if (t is null || t.IsInvalid) throw new GradientCheckException($"input '{name}' is {(t is null ? "null" : "a disposed tensor")}.");
            if (!t.is_floating_point())
                throw new GradientCheckException($"input '{name}' is {t.dtype}, not floating point: capture indices and other integer tensors in the closure.");
        }
        // Mixed dtypes would meet in a matmul, which ends the process instead of throwing.
        if (inputs.Select(p => p.Value.dtype).Distinct().Count() > 1)
            throw new GradientCheckException(
                $"the inputs mix dtypes ({string.Join(", ", inputs.Select(p => $"{p.Key} {p.Value.dtype}"))}): give them one dtype (float64 copies of them all run the model in float64).");
        var parameters = inputs.Where(p => p.Value.requires_grad).Select(p => p.Key).ToList();

        var check = new GradientCheck();
        var (_, manual) = check.Run(inputs, toFloat64: false, forward, backward, parameters);
        var rowOrder = manual.Select(m => m.Name).ToList();
        if (o.Approximate.FirstOrDefault(n => !rowOrder.Contains(n)) is { } stray)
            throw new GradientCheckException($"OneCallOptions.Approximate names '{stray}', which the backward does not return; it returns: {string.Join(", ", rowOrder)}.");
        if (inputs.Values.Any(t => t.dtype != ScalarType.Float64))
        {
            if (o.RerunInFloat64) check.float64.UseSide(() => check.Float64Rerun(inputs, forward, backward, rowOrder));
            else check.float64RerunRefusal = "switched off (RerunInFloat64 = false)";
        }
        foreach (var (name, g) in manual) check.Compare(name, g, expectExact: !o.Approximate.Contains(name));

        if (o.FiniteDifferences is { } fd)
        {
            var checkedInputs = rowOrder.Where(inputs.ContainsKey).ToList();
            if (checkedInputs.Count > 0)
                check.CheckNumerically(checkedInputs, ps => Evaluate(inputs, checkedInputs, ps, forward), fd);
        }
        return check;
    }

    /// <summary>
    /// Runs the forward on this (fresh) check, autograd's backward and the user's backward; returns the loss and the
    /// manual gradients in the order given. <paramref name="toFloat64"/> converts the inputs (the rerun).
    /// </summary>
    private (Tensor Loss, List<(string Name, Tensor Gradient)> Manual) Run(
        Dictionary<string, Tensor> inputs, bool toFloat64, Func<IStepRecorder, Tensor> forward,
        Func<Func<string, Tensor>, IEnumerable<(string Name, Tensor Gradient)>> backward, IReadOnlyList<string> parameters)
    {
        Tensor loss;
        using (enable_grad())
        {
            foreach (var (name, t) in inputs)
            {
                var leaf = (toFloat64 ? t.detach().to_type(ScalarType.Float64) : t.detach()).requires_grad_(true);
                Step(name, _ => leaf);
            }
            try
            {
                loss = forward(this) ?? throw new GradientCheckException("the forward returned null instead of the loss.");
            }
            catch (Exception e) when (e is not (GradientCheckException or OutOfMemoryException))
            {
                throw new GradientCheckException($"the forward threw {e.GetType().Name}: {e.Message.Split('\n')[0]}");
            }
            if (loss.numel() != 1 || !loss.is_floating_point())
                throw new GradientCheckException($"the forward returned a {loss.dtype} tensor of shape {Cmp.Shape(loss.shape)}: return the scalar loss.");
            if (!loss.requires_grad) throw new GradientCheckException("the forward's loss does not depend on any input: compute it from the steps.");
            Backward(loss);
        }

        string Known() => string.Join(", ", Names);
        Tensor Value(string n) => n is not null && tape.TryGet(n, out var t)
            ? t.detach()
            : throw new GradientCheckException($"the backward read '{n}', which is neither an input nor a step of the forward; they are: {Known()}.");
        List<(string Name, Tensor Gradient)> grads;
        using (no_grad())
        {
            try
            {
                grads = (backward(Value) ?? throw new GradientCheckException("the backward returned null instead of its gradients.")).ToList();
            }
            catch (Exception e) when (e is not (GradientCheckException or OutOfMemoryException))
            {
                throw new GradientCheckException($"the backward threw {e.GetType().Name}: {e.Message.Split('\n')[0]}");
            }
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, g) in grads)
        {
            if (name is null || !tape.Contains(name))
                throw new GradientCheckException($"the backward returned a gradient of '{name}', which is neither an input nor a step of the forward; they are: {Known()}.");
            if (!seen.Add(name)) throw new GradientCheckException($"the backward returned a gradient of '{name}' twice.");
            if (g is null || g.IsInvalid) throw new GradientCheckException($"the backward returned {(g is null ? "null" : "a disposed tensor")} as the gradient of '{name}'.");
        }
        if (parameters.FirstOrDefault(p => !seen.Contains(p)) is { } missing)
            throw new GradientCheckException(
                $"the backward returned no gradient of '{missing}', an input that requires grad: return (\"{missing}\", d{missing}), or pass it without requires_grad to hold it constant.");
        return (loss, grads);
    }

    /// <summary>
    /// The float64 side from the model itself: forward, autograd and the user's backward again on float64 copies
    /// (float tensors in the closures swapped too). Null, with the reason, when the backward is not dtype-generic.
    /// </summary>
    private Float64Decision.Float64Side? Float64Rerun(
        Dictionary<string, Tensor> inputs, Func<IStepRecorder, Tensor> forward,
        Func<Func<string, Tensor>, IEnumerable<(string Name, Tensor Gradient)>> backward, IReadOnlyList<string> rows)
    {
        using var forwardSwap = ClosureSwap.Of(forward);
        using var backwardSwap = ClosureSwap.Of(backward);
        if ((forwardSwap.Refusal ?? backwardSwap.Refusal) is { } why) { float64RerunRefusal = $"the {(forwardSwap.Refusal is null ? "backward" : "forward")} {why}"; return null; }
        var c64 = new GradientCheck();
        Tensor loss64;
        List<(string Name, Tensor Gradient)> manual64;
        try
        {
            (loss64, manual64) = c64.Run(inputs, toFloat64: true, forward, backward, []);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            float64RerunRefusal = $"the model failed on float64 inputs: {e.Message.Split('\n')[0]}";
            return null;
        }
        if (loss64.dtype != ScalarType.Float64)
        {
            float64RerunRefusal = $"the forward computed a {loss64.dtype} loss on float64 inputs";
            return null;
        }
        if (manual64.FirstOrDefault(m => m.Gradient.dtype != ScalarType.Float64) is { Name: not null } f32)
        {
            float64RerunRefusal = $"the backward returned a {f32.Gradient.dtype} gradient of '{f32.Name}' on float64 inputs: it is not dtype-generic";
            return null;
        }
        if (!manual64.Select(m => m.Name).SequenceEqual(rows))
        {
            float64RerunRefusal = "the backward returned other gradients on float64 inputs";
            return null;
        }
        return new Float64Decision.Float64Side(c64.Tape, manual64.ToDictionary(m => m.Name, m => m.Gradient, StringComparer.Ordinal));
    }

    /// <summary>The loss for finite differences: the forward evaluated on <paramref name="checkedValues"/> (float64) and float64 copies of the other inputs.</summary>
    private static Tensor Evaluate(Dictionary<string, Tensor> inputs, IReadOnlyList<string> checkedNames, IReadOnlyList<Tensor> checkedValues, Func<IStepRecorder, Tensor> forward)
    {
        var values = inputs.ToDictionary(p => p.Key, p => p.Value.detach().to_type(ScalarType.Float64), StringComparer.Ordinal);
        for (int i = 0; i < checkedNames.Count; i++) values[checkedNames[i]] = checkedValues[i];
        using var swap = ClosureSwap.Of(forward);
        if (swap.Refusal is { } why) throw new GradientCheckException($"finite differences need the forward in float64, but it {why}.");
        return forward(new PlainSteps(values));
    }
}
