using static TorchSharp.torch;

namespace ManualVsAuto.Model;

/// <summary>
/// One step of a forward pass as a function of earlier steps, which it reads by name through <c>input</c>
/// (data and constants come from the closure). Reading inputs by name is what lets a recorder learn each step's
/// inputs and re-evaluate the step on its own, e.g. on detached copies to get its local derivative.
/// </summary>
public delegate Tensor StepFunction(Func<string, Tensor> input);

/// <summary>Receives a forward pass step by step: runs <paramref name="f"/> and returns its value under <paramref name="name"/>.</summary>
public interface IStepRecorder
{
    Tensor Step(string name, StepFunction f);
}

/// <summary>
/// The recorder that only evaluates: steps by name in a dictionary, nothing tracked (e.g. under no_grad), starting
/// from <paramref name="inputs"/> (named tensors the steps may read).
/// </summary>
public sealed class PlainSteps(IEnumerable<KeyValuePair<string, Tensor>>? inputs = null) : IStepRecorder
{
    private readonly Dictionary<string, Tensor> values = new(inputs ?? [], StringComparer.Ordinal);

    public Tensor Step(string name, StepFunction f) => values[name] = f(n => values[n]);
}
