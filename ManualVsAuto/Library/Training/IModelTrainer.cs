using ManualVsAuto.Checking;
using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>One SGD step on a minibatch, for any model: what the training loop, checkpoints and the final report need.</summary>
public interface IModelTrainer : IDisposable
{
    BackwardKind Kind { get; }

    /// <summary>What a checkpoint saves, by name, in a fixed order: the parameters and any running statistics.</summary>
    IReadOnlyList<(string Name, Tensor Tensor)> State { get; }

    long ParameterCount { get; }

    /// <summary>
    /// Forward, backward and <c>p -= lr·grad</c> on the minibatch (<paramref name="Xb"/>: (n, block_size) int64
    /// character indices, <paramref name="Yb"/>: (n) int64 targets, n ≥ 2). Returns the minibatch loss before the
    /// update as a 0-d tensor without autograd history. Every tensor made during the step, the loss included,
    /// belongs to the caller's current dispose scope: wrap each step in <c>NewDisposeScope()</c>.
    /// </summary>
    Tensor Step(Tensor Xb, Tensor Yb, double lr);

    /// <summary><c>--verify-every</c>: the manual parameter gradients on this minibatch against autograd's, one row per
    /// parameter in backward order (<see cref="GradientVerifier.Compare"/>); changes nothing. Only a manual trainer has a
    /// manual backward to verify.</summary>
    IReadOnlyList<GradientRow> Verify(Tensor Xb, Tensor Yb);
}
