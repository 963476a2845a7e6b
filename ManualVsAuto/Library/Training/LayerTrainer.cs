using ManualVsAuto.Backward;
using ManualVsAuto.Checking;
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
public abstract class LayerTrainer(Sequential model) : IModelTrainer
{
    public Sequential Model { get; } = model;

    public abstract BackwardKind Kind { get; }

    public IReadOnlyList<(string Name, Tensor Tensor)> State => Model.State;

    public long ParameterCount => Model.Count;

    public abstract Tensor Step(Tensor Xb, Tensor Yb, double lr);

    public abstract IReadOnlyList<GradientRow> Verify(Tensor Xb, Tensor Yb);

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

    public override Tensor Step(Tensor Xb, Tensor Yb, double lr)
    {
        var loss = Backward(Xb, Yb, ForwardMode.Train);
        // The lecture's update, p.data += -lr * p.grad: libtorch's add_(grad, alpha: −lr) (what optim.SGD does) is one
        // fused multiply-add per element; the same loop over each parameter's memory saves 16 calls into libtorch.
        foreach (var p in parameters)
        {
            var value = FusedStepState.Floats(p.Value);
            TensorPrimitives.FusedMultiplyAdd(FusedStepState.Floats(p.Grad!), (float)-lr, value, value);
        }
        return loss;
    }

    /// <summary>Forward, loss and the manual backward: every parameter's gradient is left in its <see cref="LayerParameter.Grad"/>.</summary>
    public Tensor Backward(Tensor Xb, Tensor Yb, ForwardMode mode)
    {
        var logits = Model.Forward(Xb, mode);
        var loss = F.cross_entropy(logits, Yb);
        Model.Backward(FusedBackward.CrossEntropy(logits, Yb));
        return loss;
    }

    /// <summary>Batch statistics without moving the running ones; autograd runs on copies of the parameters,
    /// so the trained ones never take part in a graph.</summary>
    public override IReadOnlyList<GradientRow> Verify(Tensor Xb, Tensor Yb)
    {
        using var scope = NewDisposeScope();
        Backward(Xb, Yb, ForwardMode.Probe);
        var named = Model.NamedParameters;
        var copies = named.Select(p => p.Parameter.Value.detach().clone().requires_grad_(true)).ToList();
        var loss = Model.With(copies, () => F.cross_entropy(Model.Forward(Xb, ForwardMode.Probe), Yb));
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

    public override Tensor Step(Tensor Xb, Tensor Yb, double lr)
    {
        var loss = F.cross_entropy(Model.Forward(Xb, ForwardMode.Train), Yb);
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
