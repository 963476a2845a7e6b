using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>
/// Exercise 4's training step with the manual backward (<see cref="ManualStep"/>): no autograd graph is built
/// (the parameters do not require gradients) and no <c>backward()</c> is called.
/// </summary>
public sealed class ManualTrainer : ITrainer
{
    private readonly Dictionary<long, ManualStepState> states = []; // per batch size: one entry in practice
    private readonly BackwardPass backward;

    /// <param name="parameters">Contiguous float32 CPU tensors, updated in place; their <c>requires_grad</c> is switched off.</param>
    /// <param name="backward">The backward pass; <see cref="ManualStep.Backward"/> unless a test swaps in a broken one.</param>
    public ManualTrainer(MlpParameters parameters, BackwardPass? backward = null)
    {
        this.backward = backward ?? ManualStep.Backward;
        foreach (var t in parameters.All) t.requires_grad_(false);
        Parameters = parameters;
    }

    public BackwardKind Kind => BackwardKind.Manual;

    public MlpParameters Parameters { get; }

    public Tensor Step(Tensor Xb, Tensor Yb, double lr)
    {
        var s = Run(Xb, Yb, out float loss);
        ManualStep.Update(Parameters, s.Grads, (float)-lr);
        return tensor(loss);
    }

    /// <summary>The gradients the manual backward computes on this minibatch, by the same code as <see cref="Step"/>,
    /// as new tensors. Changes nothing.</summary>
    public MlpParameters Gradients(Tensor Xb, Tensor Yb) => Run(Xb, Yb, out _).Grads.Map(g => g.clone());

    private ManualStepState Run(Tensor Xb, Tensor Yb, out float loss)
    {
        int n = (int)Xb.size(0);
        if (!states.TryGetValue(n, out var s)) states[n] = s = new ManualStepState(Parameters, n);
        var x = ManualStep.Longs(Xb);
        loss = ManualStep.Forward(Parameters, s, x, ManualStep.Longs(Yb));
        backward(Parameters, s, x);
        return s;
    }

    public void Dispose()
    {
        foreach (var s in states.Values) s.Dispose();
        states.Clear();
    }
}
