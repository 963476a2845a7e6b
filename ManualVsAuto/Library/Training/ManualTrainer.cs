using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>
/// Exercise 4's training step with the manual backward (<see cref="TrainingBackward"/>): no autograd graph is
/// built (the parameters do not require gradients) and no <c>backward()</c> is called.
/// </summary>
public sealed class ManualTrainer : ITrainer
{
    private readonly Dictionary<long, BatchConstants> constants = [];
    private readonly Dictionary<(double Scale, long N), StepScale> scales = []; // two learning rates: a few entries

    private readonly BackwardPass backward;

    /// <param name="parameters">Updated in place; their <c>requires_grad</c> is switched off.</param>
    /// <param name="backward">The backward pass; <see cref="TrainingBackward.Apply"/> unless a test swaps in a broken one.</param>
    public ManualTrainer(MlpParameters parameters, BackwardPass? backward = null)
    {
        this.backward = backward ?? TrainingBackward.Apply;
        foreach (var t in parameters.All) t.requires_grad_(false);
        Parameters = parameters;
    }

    public BackwardKind Kind => BackwardKind.Manual;

    public MlpParameters Parameters { get; }

    public Tensor Step(Tensor Xb, Tensor Yb, double lr)
    {
        var k = Constants(Xb.size(0));
        var f = TrainingForward.Run(Parameters, Xb, Yb);
        backward(Parameters, f, Xb, Yb, Parameters, k, Scale(-lr, k.N));
        return f.loss;
    }

    /// <summary>The gradients the manual backward computes on this minibatch, by the same code as <see cref="Step"/>
    /// but added into zeros with scale 1 instead of into the parameters with scale −lr. Changes nothing.</summary>
    public MlpParameters Gradients(Tensor Xb, Tensor Yb)
    {
        var k = Constants(Xb.size(0));
        var f = TrainingForward.Run(Parameters, Xb, Yb);
        var grads = Parameters.Map(t => zeros_like(t));
        backward(Parameters, f, Xb, Yb, grads, k, Scale(1.0, k.N));
        return grads;
    }

    private BatchConstants Constants(long n)
    {
        if (!constants.TryGetValue(n, out var k)) constants[n] = k = new BatchConstants(Parameters, n);
        return k;
    }

    private StepScale Scale(double scale, long n)
    {
        if (!scales.TryGetValue((scale, n), out var s)) scales[(scale, n)] = s = new StepScale(scale, n);
        return s;
    }

    public void Dispose()
    {
        foreach (var k in constants.Values) k.Dispose();
        foreach (var s in scales.Values) s.Dispose();
        constants.Clear();
        scales.Clear();
    }
}
