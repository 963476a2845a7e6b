using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>One layer's output in a training step and the gradient of the loss with respect to it, as that step's
/// backward computed it (<c>layer.out</c> and <c>layer.out.grad</c> in part 3).</summary>
/// <param name="Name">The layer by position and kind, as <c>check</c> names it: <c>layers[4] Tanh</c>.</param>
/// <param name="Out">Null where the step never forms the output as a tensor (the MLP's loop step writes hpreact straight into h).</param>
public sealed record LayerActivity(string Name, string Kind, Tensor? Out, Tensor DOut);

/// <summary>A parameter after the step's update and the gradient the update used.</summary>
public sealed record ParameterGradient(string Name, Tensor Value, Tensor Grad);

/// <summary>What one step leaves for <see cref="TrainingDiagnostics"/>: tensors of the step (valid until its dispose
/// scope ends or the next step), read, never kept.</summary>
public sealed record StepActivity(double Lr, IReadOnlyList<LayerActivity> Layers, IReadOnlyList<ParameterGradient> Parameters);

/// <summary>A trainer whose step can also show what happened inside it: every layer's output and output gradient,
/// every parameter's gradient, from the gradients the step itself used.</summary>
public interface IObservableTrainer : IModelTrainer
{
    /// <summary><see cref="IModelTrainer.Step"/>, the same arithmetic, also handing out the step's activity.</summary>
    Tensor Step(Tensor Xb, Tensor Yb, double lr, out StepActivity activity);
}
