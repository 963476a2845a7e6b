using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>One SGD step on a minibatch; the two implementations share <see cref="TrainingForward"/>.</summary>
public interface ITrainer : IDisposable
{
    BackwardKind Kind { get; }

    /// <summary>The parameters, updated in place by <see cref="Step"/>.</summary>
    MlpParameters Parameters { get; }

    /// <summary>
    /// Forward, backward and <c>p -= lr·grad</c> on the minibatch (<paramref name="Xb"/>: (n, block_size) int64
    /// character indices, <paramref name="Yb"/>: (n) int64 targets, n ≥ 2). Returns the minibatch loss before the
    /// update as a 0-d tensor without autograd history. Every tensor made during the step, the loss included,
    /// belongs to the caller's current dispose scope: wrap each step in <c>NewDisposeScope()</c>.
    /// </summary>
    Tensor Step(Tensor Xb, Tensor Yb, double lr);
}
