using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>
/// A training loop's known mistakes that run to the end, each matched bitwise by the grader (<see cref="LoopVariant"/>).
/// A step before <c>loss.backward()</c> does not run: the lecture's line meets a null gradient, and an optimizer's
/// step changes a parameter the graph still needs (libtorch's "modified by an inplace operation"); the grader names
/// both from the exception.
/// </summary>
internal enum LoopMistake
{
    None,

    /// <summary>No zeroing: each step's gradient is the sum of all the steps' so far.</summary>
    NeverZeroed,

    /// <summary><c>p.data += lr * p.grad</c>: up the loss.</summary>
    WrongSign,

    /// <summary><c>i &lt;= lr_decay_step</c>: 0.1 one step too long.</summary>
    DecaysLate,

    /// <summary><c>i + 1 &lt; lr_decay_step</c> (or counting from 1): 0.01 one step too soon.</summary>
    DecaysEarly,
}

/// <summary>How the step is written: the lecture's line, or an optimizer (two roundings apart: <see cref="Training.SgdUpdate"/>).</summary>
internal enum UpdateForm
{
    /// <summary><c>p.grad = null</c> and <c>p.data += -lr * p.grad</c>, as the lecture writes them.</summary>
    LectureLine,

    /// <summary><c>optim.SGD</c>'s <c>zero_grad()</c> and <c>step()</c>.</summary>
    OptimizerStep,
}

/// <summary>
/// The lecture's loop (<see cref="LectureLoop"/>) with one known mistake, written as a learner writes it, in either
/// update form: the grader runs each beside the learner's loop from the same init and minibatches, and a learner's
/// loop that moves the parameters bitwise as one of these does has that mistake.
/// </summary>
internal sealed class LoopVariant(LoopMistake mistake, UpdateForm form) : IExercise5
{
    public LoopMistake Mistake { get; } = mistake;

    public UpdateForm Form { get; } = form;

    public void Train(IReadOnlyList<Parameter> parameters, Func<(Tensor Xb, Tensor Yb)> minibatch, Func<Tensor, Tensor, Tensor> forward,
        int max_steps, int lr_decay_step)
    {
        using var optimizer = Form == UpdateForm.OptimizerStep ? optim.SGD(parameters, 0.1) : null;
        for (int i = 0; i < max_steps; i++)
        {
            var (Xb, Yb) = minibatch();
            var loss = forward(Xb, Yb);
            int at = Mistake switch { LoopMistake.DecaysLate => i - 1, LoopMistake.DecaysEarly => i + 1, _ => i };
            double lr = at < lr_decay_step ? 0.1 : 0.01;
            if (Mistake == LoopMistake.WrongSign) lr = -lr;
            if (Mistake != LoopMistake.NeverZeroed) Zero(parameters, optimizer);
            loss.backward();
            Step(parameters, optimizer, lr);
        }
    }

    private static void Zero(IReadOnlyList<Parameter> parameters, SGD? optimizer)
    {
        if (optimizer is not null) optimizer.zero_grad();
        else foreach (var p in parameters) p.grad = null;
    }

    private static void Step(IReadOnlyList<Parameter> parameters, SGD? optimizer, double lr)
    {
        if (optimizer is not null)
        {
            optimizer.ParamGroups.Single().LearningRate = lr;
            optimizer.step();
            return;
        }
        using (no_grad())
            foreach (var p in parameters) p.add_(-lr * p.grad!);
    }
}
