using ManualVsAuto.Workbook;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// Exercise 5 graded in-process: the lecture's loop passes in both update forms, and each mistake a learner makes in
/// it, written out here as a learner writes it, gets its own cause and no other mistake's.
/// </summary>
public class WorkbookLoopTests
{
    private delegate void Body(IReadOnlyList<Parameter> parameters, Func<(Tensor Xb, Tensor Yb)> minibatch, Func<Tensor, Tensor, Tensor> forward, int max_steps, int lr_decay_step);

    private sealed class Loop(Body body) : IExercise5
    {
        public void Train(IReadOnlyList<Parameter> parameters, Func<(Tensor Xb, Tensor Yb)> minibatch, Func<Tensor, Tensor, Tensor> forward, int max_steps, int lr_decay_step) =>
            body(parameters, minibatch, forward, max_steps, lr_decay_step);
    }

    private static Grade Grade(IExercise5 loop) => WorkbookGrader.GradeLoop(loop, LectureFixture.Split.Train);

    private static void Step(IReadOnlyList<Parameter> parameters, double lr)
    {
        using (no_grad()) foreach (var p in parameters) p.add_(-lr * p.grad!);
    }

    /// <summary>The lecture's loop, as the tests' own copy: p.grad = null, loss.backward(), p.data += -lr * p.grad.</summary>
    private static readonly Body Lecture = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
    {
        for (int i = 0; i < max_steps; i++)
        {
            var (Xb, Yb) = minibatch();
            var loss = forward(Xb, Yb);
            foreach (var p in parameters) p.grad = null;
            loss.backward();
            Step(parameters, i < lr_decay_step ? 0.1 : 0.01);
        }
    };

    /// <summary>The same with an optimizer: zero_grad(), loss.backward(), step().</summary>
    private static readonly Body Optimizer = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
    {
        using var optimizer = optim.SGD(parameters, 0.1);
        for (int i = 0; i < max_steps; i++)
        {
            var (Xb, Yb) = minibatch();
            var loss = forward(Xb, Yb);
            optimizer.zero_grad();
            loss.backward();
            optimizer.ParamGroups.First().LearningRate = i < lr_decay_step ? 0.1 : 0.01;
            optimizer.step();
        }
    };

    private static readonly Dictionary<string, Body> Mistakes = new()
    {
        ["never zeroed"] = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            for (int i = 0; i < max_steps; i++)
            {
                var (Xb, Yb) = minibatch();
                forward(Xb, Yb).backward();
                Step(parameters, i < lr_decay_step ? 0.1 : 0.01);
            }
        },
        ["never zeroed, optimizer"] = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            using var optimizer = optim.SGD(parameters, 0.1);
            for (int i = 0; i < max_steps; i++)
            {
                var (Xb, Yb) = minibatch();
                forward(Xb, Yb).backward();
                optimizer.ParamGroups.First().LearningRate = i < lr_decay_step ? 0.1 : 0.01;
                optimizer.step();
            }
        },
        ["wrong sign"] = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            for (int i = 0; i < max_steps; i++)
            {
                var (Xb, Yb) = minibatch();
                var loss = forward(Xb, Yb);
                foreach (var p in parameters) p.grad = null;
                loss.backward();
                double lr = i < lr_decay_step ? 0.1 : 0.01;
                using (no_grad()) foreach (var p in parameters) p.add_(lr * p.grad!);
            }
        },
        ["step before backward"] = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            using var optimizer = optim.SGD(parameters, 0.1);
            for (int i = 0; i < max_steps; i++)
            {
                var (Xb, Yb) = minibatch();
                var loss = forward(Xb, Yb);
                optimizer.ParamGroups.First().LearningRate = i < lr_decay_step ? 0.1 : 0.01;
                optimizer.step();
                optimizer.zero_grad();
                loss.backward();
            }
        },
        ["step right after zeroing"] = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            using var optimizer = optim.SGD(parameters, 0.1);
            for (int i = 0; i < max_steps; i++)
            {
                var (Xb, Yb) = minibatch();
                var loss = forward(Xb, Yb);
                optimizer.zero_grad();
                optimizer.ParamGroups.First().LearningRate = i < lr_decay_step ? 0.1 : 0.01;
                optimizer.step();
                loss.backward();
            }
        },
        ["a null gradient in the step"] = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            for (int i = 0; i < max_steps; i++)
            {
                var (Xb, Yb) = minibatch();
                var loss = forward(Xb, Yb);
                foreach (var p in parameters) p.grad = null;
                Step(parameters, i < lr_decay_step ? 0.1 : 0.01);
                loss.backward();
            }
        },
        ["decays late"] = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            for (int i = 0; i < max_steps; i++)
            {
                var (Xb, Yb) = minibatch();
                var loss = forward(Xb, Yb);
                foreach (var p in parameters) p.grad = null;
                loss.backward();
                Step(parameters, i <= lr_decay_step ? 0.1 : 0.01);
            }
        },
        ["decays early"] = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            for (int i = 1; i <= max_steps; i++) // counting from 1
            {
                var (Xb, Yb) = minibatch();
                var loss = forward(Xb, Yb);
                foreach (var p in parameters) p.grad = null;
                loss.backward();
                Step(parameters, i < lr_decay_step ? 0.1 : 0.01);
            }
        },
        ["step outside no_grad"] = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            for (int i = 0; i < max_steps; i++)
            {
                var (Xb, Yb) = minibatch();
                var loss = forward(Xb, Yb);
                foreach (var p in parameters) p.grad = null;
                loss.backward();
                foreach (var p in parameters) p.add_(-0.1 * p.grad!);
            }
        },
        ["one step too many"] = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
            Lecture(parameters, minibatch, forward, max_steps + 1, lr_decay_step),
        // The neighbour: a wrong learning rate everywhere is none of the known mistakes.
        ["lr 0.2"] = (parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            for (int i = 0; i < max_steps; i++)
            {
                var (Xb, Yb) = minibatch();
                var loss = forward(Xb, Yb);
                foreach (var p in parameters) p.grad = null;
                loss.backward();
                Step(parameters, i < lr_decay_step ? 0.2 : 0.02);
            }
        },
    };

    /// <summary>Each mistake's outcome and the words of its cause; the detail each must carry.</summary>
    private static readonly Dictionary<string, (Outcome Outcome, string Cause, string Detail)> Expected = new()
    {
        ["never zeroed"] = (Outcome.Wrong, "the gradients were never zeroed",
            "the gradient at step 2 equals the sum of steps 1–2: the gradients were never zeroed — PyTorch and TorchSharp accumulate them"),
        ["never zeroed, optimizer"] = (Outcome.Wrong, "the gradients were never zeroed",
            "the gradient at step 2 equals the sum of steps 1–2: the gradients were never zeroed — PyTorch and TorchSharp accumulate them"),
        ["wrong sign"] = (Outcome.Wrong, "a step with the wrong sign", "the step goes against the gradient, p.data += -lr * p.grad"),
        ["step before backward"] = (Outcome.Error, "the step runs before loss.backward()", "at step 2: ExternalException: one of the variables needed for gradient computation has been modified"),
        ["step right after zeroing"] = (Outcome.Error, "the step runs before loss.backward()", "the step changed a parameter that this step's graph still needs"),
        ["a null gradient in the step"] = (Outcome.Error, "a null p.grad: the step runs before loss.backward()?", "at step 1: NullReferenceException"),
        ["decays late"] = (Outcome.Wrong, "the learning-rate schedule is off by one (late)", "step 4 (i = 3) used lr 0.1"),
        ["decays early"] = (Outcome.Wrong, "the learning-rate schedule is off by one (early)", "step 3 (i = 2) used lr 0.01"),
        ["step outside no_grad"] = (Outcome.Error, "the step outside no_grad()", "write the step under using (no_grad())"),
        ["one step too many"] = (Outcome.Wrong, "ran 6 steps, max_steps is 5", "for (int i = 0; i < max_steps; i++)"),
        ["lr 0.2"] = (Outcome.Wrong, "step 1: C is not the lecture's loop's", "no known mistake explains it"),
    };

    [DataFact]
    public void TheLecturesLoopPassesBitwiseInBothUpdateForms()
    {
        foreach (var loop in new IExercise5[] { new LectureLoop(), new Loop(Lecture), new Loop(Optimizer) })
        {
            var g = Grade(loop);
            Assert.True(g.Outcome == Outcome.Exact && g.Passed, g.Explain());
        }
        Assert.Contains("bitwise the lecture's loop at all 5 steps (p.grad = null", Grade(new Loop(Lecture)).Message);
        Assert.Contains("an optimizer's step()", Grade(new Loop(Optimizer)).Message);
        Assert.Equal(Outcome.NotAttempted, Grade(new Loop((_, _, _, _, _) => throw new NotAttempted())).Outcome);
    }

    /// <summary>A scheduler's 0.1 · 0.1 is 0.010000000000000002, the same float32 as 0.01: bitwise the lecture's. A
    /// step written as a division by 1/lr rounds otherwise: not bitwise, but within the tolerance, it passes.</summary>
    [DataFact]
    public void AStepLrSchedulerPassesAndAnotherRoundingIsApproximate()
    {
        var g = Grade(new Loop((parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            using var optimizer = optim.SGD(parameters, 0.1);
            var scheduler = optim.lr_scheduler.StepLR(optimizer, lr_decay_step, 0.1);
            for (int i = 0; i < max_steps; i++)
            {
                var (Xb, Yb) = minibatch();
                var loss = forward(Xb, Yb);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                scheduler.step();
            }
        }));
        Assert.True(g.Passed, g.Explain());
        Assert.Equal(Outcome.Exact, g.Outcome);

        var divided = Grade(new Loop((parameters, minibatch, forward, max_steps, lr_decay_step) =>
        {
            for (int i = 0; i < max_steps; i++)
            {
                var (Xb, Yb) = minibatch();
                var loss = forward(Xb, Yb);
                foreach (var p in parameters) p.grad = null;
                loss.backward();
                double lr = i < lr_decay_step ? 0.1 : 0.01;
                using (no_grad()) foreach (var p in parameters) p.sub_(p.grad! / (1 / lr));
            }
        }));
        Assert.True(divided.Passed, divided.Explain());
        Assert.Equal(Outcome.Approximate, divided.Outcome);
    }

    /// <summary>A loop that never returns is ERROR after the limit, as an answer of Exercises 1–4.</summary>
    [DataFact]
    public void ALoopThatNeverEndsTimesOut()
    {
        var g = WorkbookGrader.GradeLoop(new Loop((_, _, _, _, _) => { while (true) Thread.Sleep(10); }), LectureFixture.Split.Train,
            timeLimit: TimeSpan.FromSeconds(1));
        Assert.Equal((Outcome.Error, "timed out after 1 s"), (g.Outcome, g.Cause));
    }

    [DataTheory]
    [InlineData("never zeroed")]
    [InlineData("never zeroed, optimizer")]
    [InlineData("wrong sign")]
    [InlineData("step before backward")]
    [InlineData("step right after zeroing")]
    [InlineData("a null gradient in the step")]
    [InlineData("decays late")]
    [InlineData("decays early")]
    [InlineData("step outside no_grad")]
    [InlineData("one step too many")]
    [InlineData("lr 0.2")]
    public void EachMistakeInTheLoopIsNamedAndNoOther(string mistake)
    {
        var g = Grade(new Loop(Mistakes[mistake]));
        var (outcome, cause, detail) = Expected[mistake];
        Assert.True(g.Outcome == outcome, g.Explain());
        Assert.False(g.Passed);
        Assert.StartsWith(cause, g.Cause);
        Assert.Contains(detail, g.Explain());
        // The same mistake in the other form (a step before backward: a null gradient, or a changed parameter) shares its words.
        foreach (var (_, (_, otherCause, _)) in Expected)
            if (!cause.Contains(otherCause, StringComparison.Ordinal)) Assert.DoesNotContain(otherCause, g.Explain());
    }
}
