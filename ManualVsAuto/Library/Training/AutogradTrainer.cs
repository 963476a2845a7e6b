using ManualVsAuto.Model;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>
/// The ordinary way, as the baseline: the same forward (<see cref="TrainingForward"/>), then
/// <c>zero_grad()</c>, <c>loss.backward()</c> and <c>optim.SGD.step()</c> (which does <c>p.add_(grad, alpha: −lr)</c>).
/// </summary>
public sealed class AutogradTrainer : ITrainer
{
    private readonly SGD optimizer;
    private readonly optim.ILearningRateController group;

    /// <param name="parameters">Wrapped as <see cref="Parameter"/>s sharing their storage; updated in place.</param>
    public AutogradTrainer(MlpParameters parameters, double lr = 0.1)
    {
        Parameters = parameters.Map(t => (Tensor)new Parameter(t.detach(), requires_grad: true));
        optimizer = optim.SGD(Parameters.All.Cast<Parameter>(), lr);
        group = optimizer.ParamGroups.Single();
    }

    public BackwardKind Kind => BackwardKind.Autograd;

    public MlpParameters Parameters { get; }

    public Tensor Step(Tensor Xb, Tensor Yb, double lr)
    {
        var f = TrainingForward.Run(Parameters, Xb, Yb);
        optimizer.zero_grad();
        f.loss.backward();
        group.LearningRate = lr;
        optimizer.step();
        return f.loss.detach();
    }

    public void Dispose() => optimizer.Dispose();
}
