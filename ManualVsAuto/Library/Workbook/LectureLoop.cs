using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>
/// Exercise 5's reference answer: the lecture's training loop, line by line. The gradients are zeroed before each
/// backward because PyTorch and TorchSharp add a backward's gradients to whatever <c>.grad</c> already holds.
/// </summary>
public sealed class LectureLoop : IExercise5
{
    public void Train(IReadOnlyList<Parameter> parameters, Func<(Tensor Xb, Tensor Yb)> minibatch, Func<Tensor, Tensor, Tensor> forward,
        int max_steps, int lr_decay_step)
    {
        for (int i = 0; i < max_steps; i++)
        {
            // minibatch construct
            var (Xb, Yb) = minibatch();

            // forward pass
            var loss = forward(Xb, Yb);

            // backward pass
            foreach (var p in parameters) p.grad = null;
            loss.backward();

            // update: p.data += -lr * p.grad (no_grad: the update is not part of the graph)
            double lr = i < lr_decay_step ? 0.1 : 0.01;
            using (no_grad())
                foreach (var p in parameters) p.add_(-lr * p.grad!);
        }
    }
}
