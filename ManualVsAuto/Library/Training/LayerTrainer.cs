using ManualVsAuto.Backward;
using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using Parameter = TorchSharp.Modules.Parameter;
using SGD = TorchSharp.Modules.SGD;
using static TorchSharp.torch;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Training;

/// <summary>
/// Trains a model made of layers (part 5's WaveNet; the MLP's autograd baseline) with <c>F.cross_entropy</c> and plain
/// SGD; the two subclasses differ only in where the gradients come from: the layers' hand-written backward, or autograd.
/// </summary>
public abstract class LayerTrainer(Sequential model) : IObservableTrainer
{
    public Sequential Model { get; } = model;

    public abstract BackwardKind Kind { get; }

    public IReadOnlyList<(string Name, Tensor Tensor)> State => Model.State;

    public long ParameterCount => Model.Count;

    public abstract Tensor Step(Tensor Xb, Tensor Yb, double lr);

    public abstract Tensor Step(Tensor Xb, Tensor Yb, double lr, out StepActivity activity);

    public abstract IReadOnlyList<GradientRow> Verify(Tensor Xb, Tensor Yb);

    /// <summary>The parameters as the diagnostics name them: the MLP's by the lecture's names, the others by <c>layers[i].name</c>.</summary>
    protected IReadOnlyList<(string Name, LayerParameter Parameter)> DiagnosedParameters =>
        Model is Mlp mlp ? mlp.LectureParameters : Model.NamedParameters;

    /// <summary>The step's activity from each layer's output and output gradient and each parameter's gradient.</summary>
    protected StepActivity Activity(double lr, Tensor[] outs, Tensor[] douts, Func<LayerParameter, Tensor> grad) => new(lr,
        Model.Layers.Select((l, i) => new LayerActivity($"layers[{i}] {l.Kind}", l.Kind, outs[i], douts[i])).ToList(),
        DiagnosedParameters.Select(p => new ParameterGradient(p.Name, p.Parameter.Value, grad(p.Parameter))).ToList());

    public static LayerTrainer Create(BackwardKind kind, Sequential model) => kind switch
    {
        BackwardKind.Manual => new ManualLayerTrainer(model),
        BackwardKind.Autograd => new AutogradLayerTrainer(model),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public virtual void Dispose()
    {
        Model.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The WaveNet trained on the layers' hand-written backward alone: no autograd graph, no <c>backward()</c>.</summary>
public sealed class ManualLayerTrainer : LayerTrainer
{
    private readonly IReadOnlyList<LayerParameter> parameters;

    /// <param name="model">Updated in place; its parameters' <c>requires_grad</c> is switched off.</param>
    public ManualLayerTrainer(Sequential model) : base(model)
    {
        parameters = model.Parameters;
        foreach (var p in parameters) p.Value.requires_grad_(false);
    }

    public override BackwardKind Kind => BackwardKind.Manual;

    public override Tensor Step(Tensor Xb, Tensor Yb, double lr) => Step(Xb, Yb, lr, null, null);

    public override Tensor Step(Tensor Xb, Tensor Yb, double lr, out StepActivity activity)
    {
        var (outs, douts) = (new Tensor[Model.Layers.Count], new Tensor[Model.Layers.Count]);
        var loss = Step(Xb, Yb, lr, outs, douts);
        activity = Activity(lr, outs, douts, p => p.Grad!);
        return loss;
    }

    private Tensor Step(Tensor Xb, Tensor Yb, double lr, Tensor[]? outs, Tensor[]? douts)
    {
        var loss = Backward(Xb, Yb, ForwardMode.Train, outs, douts);
        // As optim.SGD rounds (the autograd baseline's optimiser), in a loop over each parameter's memory: no call into libtorch.
        foreach (var p in parameters)
            SgdUpdate.AsOptimSgd(LoopStepState.Floats(p.Value), LoopStepState.Floats(p.Grad!), (float)lr);
        return loss;
    }

    /// <summary>Forward, loss and the manual backward: every parameter's gradient is left in its <see cref="LayerParameter.Grad"/>.</summary>
    public Tensor Backward(Tensor Xb, Tensor Yb, ForwardMode mode) => Backward(Xb, Yb, mode, null, null);

    private Tensor Backward(Tensor Xb, Tensor Yb, ForwardMode mode, Tensor[]? outs, Tensor[]? douts)
    {
        var logits = Model.Forward(Xb, mode, outs);
        var loss = F.cross_entropy(logits, Yb);
        Model.Backward(FusedBackward.CrossEntropy(logits, Yb), douts);
        return loss;
    }

    /// <summary>Batch statistics without moving the running ones; autograd runs on copies of the parameters,
    /// so the trained ones never take part in a graph.</summary>
    public override IReadOnlyList<GradientRow> Verify(Tensor Xb, Tensor Yb)
    {
        using var scope = NewDisposeScope();
        Backward(Xb, Yb, ForwardMode.Inspect);
        var named = Model.NamedParameters;
        var copies = named.Select(p => p.Parameter.Value.detach().clone().requires_grad_(true)).ToList();
        var loss = Model.With(copies, () => F.cross_entropy(Model.Forward(Xb, ForwardMode.Inspect), Yb));
        var reference = autograd.grad([loss], copies);
        return GradientVerifier.Compare(named.Select((p, i) => (p.Name, p.Parameter.Grad!, reference[i])).ToList());
    }
}

/// <summary>The baseline for both models: the layers' forward, then <c>zero_grad()</c>, <c>loss.backward()</c>
/// and <c>optim.SGD.step()</c> (which does <c>p.add_(grad, alpha: −lr)</c>, the manual trainer's update).</summary>
public sealed class AutogradLayerTrainer : LayerTrainer
{
    private readonly SGD optimizer;
    private readonly optim.ILearningRateController group;

    /// <param name="model">Updated in place; its parameters become <see cref="Parameter"/>s sharing their storage.</param>
    public AutogradLayerTrainer(Sequential model) : base(model)
    {
        foreach (var p in model.Parameters) p.Value = new Parameter(p.Value.detach(), requires_grad: true);
        optimizer = optim.SGD(model.Parameters.Select(p => (Parameter)p.Value), 0.1);
        group = optimizer.ParamGroups.Single();
    }

    public override BackwardKind Kind => BackwardKind.Autograd;

    public override Tensor Step(Tensor Xb, Tensor Yb, double lr) => Step(Xb, Yb, lr, null);

    /// <summary>As part 3 does it: <c>retain_grad()</c> on every layer's output, then <c>.grad</c> after the backward.</summary>
    public override Tensor Step(Tensor Xb, Tensor Yb, double lr, out StepActivity activity)
    {
        var outs = new Tensor[Model.Layers.Count];
        var loss = Step(Xb, Yb, lr, outs);
        activity = Activity(lr, outs, outs.Select(o => o.grad!).ToArray(), p => p.Value.grad!);
        return loss;
    }

    private Tensor Step(Tensor Xb, Tensor Yb, double lr, Tensor[]? outs)
    {
        var loss = F.cross_entropy(Model.Forward(Xb, ForwardMode.Train, outs), Yb);
        if (outs is not null) foreach (var o in outs) o.retain_grad();
        optimizer.zero_grad();
        loss.backward();
        group.LearningRate = lr;
        optimizer.step();
        return loss.detach();
    }

    public override IReadOnlyList<GradientRow> Verify(Tensor Xb, Tensor Yb) =>
        throw new NotSupportedException("only the manual backward is verified");

    public override void Dispose()
    {
        optimizer.Dispose();
        base.Dispose();
    }
}
