using ManualVsAuto.Checking;
using ManualVsAuto.Backward;
using ManualVsAuto.Model;
using static TorchSharp.torch;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;

namespace ManualVsAuto.Training;

/// <summary>
/// Exercise 4's training step on the manual backward, as loops over memory (<see cref="LoopStep"/>), then SGD: no
/// autograd graph is built (the parameters do not require gradients) and no <c>backward()</c> is called.
/// </summary>
public sealed class LoopStepTrainer : IObservableTrainer
{
    private readonly Dictionary<long, LoopStepState> states = []; // per batch size: one entry in practice
    private readonly BackwardPass backward;

    /// <param name="parameters">Contiguous float32 CPU tensors, updated in place; their <c>requires_grad</c> is switched off.</param>
    /// <param name="backward">The backward pass; <see cref="LoopStep.Backward"/> unless a test swaps in a broken one.</param>
    public LoopStepTrainer(MlpParameters parameters, BackwardPass? backward = null)
    {
        this.backward = backward ?? LoopStep.Backward;
        foreach (var t in parameters.All) t.requires_grad_(false);
        Parameters = parameters;
    }

    public BackwardKind Kind => BackwardKind.Manual;

    /// <summary>The parameters, updated in place by <see cref="Step"/>.</summary>
    public MlpParameters Parameters { get; }

    public IReadOnlyList<(string Name, Tensor Tensor)> State => Parameters.Named;

    public long ParameterCount => Parameters.Count;

    public Tensor Step(Tensor Xb, Tensor Yb, double lr)
    {
        var s = Run(Xb, Yb, out float loss);
        Update(s, (float)lr);
        return tensor(loss);
    }

    /// <summary>The step's intermediates are the fused state's, named by the MLP's layers (<see cref="Mlp"/>); the
    /// batchnorm output hpreact is never formed (the step writes it into h and takes its tanh in place).</summary>
    public Tensor Step(Tensor Xb, Tensor Yb, double lr, out StepActivity activity)
    {
        var loss = Step(Xb, Yb, lr);
        var s = states[Xb.size(0)];
        var emb = (s.embcat.view(s.N, s.BlockSize, s.NEmbd), s.dembcat.view(s.N, s.BlockSize, s.NEmbd));
        activity = new StepActivity(lr,
        [
            new("layers[0] Embedding", "Embedding", emb.Item1, emb.Item2),
            new("layers[1] FlattenConsecutive", "FlattenConsecutive", s.embcat, s.dembcat),
            new("layers[2] Linear", "Linear", s.hprebn, s.dhprebn),
            new("layers[3] BatchNorm1d", "BatchNorm1d", null, s.dhpreact),
            new("layers[4] Tanh", "Tanh", s.h, s.dh),
            new("layers[5] Linear", "Linear", s.logits, s.dlogits),
        ], Parameters.Named.Zip(s.Grads.Named, (p, g) => new ParameterGradient(p.Name, p.Tensor, g.Tensor)).ToList());
        return loss;
    }

    public IReadOnlyList<GradientRow> Verify(Tensor Xb, Tensor Yb) => GradientVerifier.Verify(this, Xb, Yb);

    /// <summary>The gradients the manual backward computes on this minibatch, by the same code as <see cref="Step"/>,
    /// as new tensors. Changes nothing.</summary>
    public MlpParameters Gradients(Tensor Xb, Tensor Yb) => Run(Xb, Yb, out _).Grads.Map(g => g.clone());

    private LoopStepState Run(Tensor Xb, Tensor Yb, out float loss)
    {
        int n = (int)Xb.size(0);
        if (!states.TryGetValue(n, out var s)) states[n] = s = new LoopStepState(Parameters, n);
        var x = LoopStep.Longs(Xb);
        loss = LoopStep.Forward(Parameters, s, x, LoopStep.Longs(Yb));
        backward(Parameters, s, x);
        return s;
    }

    /// <summary>SGD as the lecture writes it, <c>p.data += -lr * p.grad</c>, for each parameter.</summary>
    private static void Update(LoopStepState s, float lr)
    {
        var p = s.Parameters.All;
        var g = s.GradMemory.All;
        for (int k = 0; k < p.Length; k++) SgdUpdate.AsLecture(p[k].Span, g[k].Span, lr);
    }

    public void Dispose()
    {
        foreach (var s in states.Values) s.Dispose();
        states.Clear();
    }
}
