using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>
/// Exercise 5: the lecture's training loop on autograd, written by the learner: for each of <c>max_steps</c> steps a
/// minibatch, the forward, zeroing the gradients (<c>p.grad = null</c>, or an optimizer's <c>zero_grad()</c>),
/// <c>loss.backward()</c> and the SGD step (<c>p.data += -lr * p.grad</c>, or an optimizer's <c>step()</c>) with the
/// lecture's schedule <c>lr = i &lt; lr_decay_step ? 0.1 : 0.01</c>. The reference is <see cref="LectureLoop"/>.
/// </summary>
public interface IExercise5
{
    /// <param name="parameters">The lecture's <c>parameters</c>, [C, W1, b1, W2, b2, bngain, bnbias]: leaves that require gradients.</param>
    /// <param name="minibatch">The lecture's <c>ix = randint(...); Xb, Yb = Xtr[ix], Ytr[ix]</c>: each call the next minibatch.</param>
    /// <param name="forward">The lecture's forward pass on <paramref name="parameters"/>: the loss of a minibatch, with its graph.</param>
    /// <param name="max_steps">How many steps to take.</param>
    /// <param name="lr_decay_step">The step from which the learning rate is 0.01 (the lecture's 100000).</param>
    void Train(IReadOnlyList<Parameter> parameters, Func<(Tensor Xb, Tensor Yb)> minibatch, Func<Tensor, Tensor, Tensor> forward,
        int max_steps, int lr_decay_step);
}
