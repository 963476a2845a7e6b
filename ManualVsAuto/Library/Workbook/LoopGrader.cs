using System.Globalization;
using ManualVsAuto.Checking;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Workbook;

/// <summary>
/// Exercise 5: the learner's training loop run for a few steps beside the lecture's (<see cref="LectureLoop"/>) from
/// the same init and minibatches, the parameters compared after every step. A loop that moves them bitwise as the
/// lecture's does, in either update form, is exact; one that moves them bitwise as a loop with a known mistake does
/// (<see cref="LoopVariant"/>) gets that mistake named, with the first step where it shows.
/// </summary>
internal static class LoopGrader
{
    private const string Name = "loop", Answer = "Train";

    public static Grade Grade(IExercise5 e5, Examples train, int steps, int decayStep, ulong seed, TimeSpan limit)
    {
        string shape = $"{steps} steps";
        string? methodAt = AnswerLocation.OfMethod(e5, Answer);
        Grade Fail(Outcome o, string cause, string? detail, string? at = null) =>
            new(Name, Answer, shape, o, false, Message: WorkbookGrader.Short(cause)) { Detail = detail ?? (cause.Length > 60 ? cause : null), Location = at ?? methodAt };

        using var scope = NewDisposeScope();
        var g = new Generator(seed);
        var init = MlpParameters.Init(new MlpConfig(NHidden: WorkbookGrader.TrainingNHidden), g);
        var batches = new List<(Tensor Xb, Tensor Yb)>();
        for (int i = 0; i < steps; i++) batches.Add(Minibatch.Draw(train, WorkbookGrader.BatchSize, g));

        using var yours = new LoopRun(init, batches, train, g);
        try
        {
            AnswerRunner.Run(() => { e5.Train(yours.Parameters, yours.Minibatch, yours.Forward, steps, decayStep); return 0; }, limit, grad: true);
        }
        catch (NotAttempted) { return new Grade(Name, Answer, shape, Outcome.NotAttempted, false); }
        // Its thread still runs the loop: nothing more is read from its run.
        catch (AnswerTimedOut t) { return Fail(Outcome.Error, t.Message, null); }
        catch (Exception e)
        {
            var (cause, detail) = ExceptionCause(e, yours.Forwards);
            return Fail(Outcome.Error, cause, detail, AnswerLocation.OfException(e, e5.GetType().Assembly));
        }
        yours.Finish();

        if (yours.Forwards != steps || yours.Minibatches != steps)
            return Fail(Outcome.Wrong, $"ran {yours.Forwards} steps, max_steps is {steps}",
                $"your loop called forward {yours.Forwards} and minibatch {yours.Minibatches} times for max_steps = {steps}: " +
                "one minibatch and one forward per step, for (int i = 0; i < max_steps; i++)");

        // The lecture's loop in both update forms first; the known mistakes only when neither matches.
        var candidates = new List<LoopRun>();
        try
        {
            LoopRun Run(LoopVariant v)
            {
                var run = new LoopRun(init, batches, train, g, v);
                candidates.Add(run);
                using var mode = enable_grad();
                v.Train(run.Parameters, run.Minibatch, run.Forward, steps, decayStep);
                run.Finish();
                return run;
            }
            var references = new[] { UpdateForm.LectureLine, UpdateForm.OptimizerStep }.Select(f => Run(new LoopVariant(LoopMistake.None, f))).ToList();
            if (references.FirstOrDefault(r => FirstDifference(yours, r, bitwise: true) is null) is { } same)
                return new Grade(Name, Answer, shape, Outcome.Exact, true, Message:
                    $"bitwise the lecture's loop at all {steps} steps ({Describe(same.Variant!.Form)}); loss {Losses(same)}");
            var reference = references.MaxBy(r => FirstDifference(yours, r, bitwise: true)!.Value.Step)!;

            var mistakes = Enum.GetValues<LoopMistake>().Where(m => m != LoopMistake.None)
                .SelectMany(m => new[] { UpdateForm.LectureLine, UpdateForm.OptimizerStep }.Select(f => new LoopVariant(m, f))).ToList();
            var runs = mistakes.Select(Run).ToList();

            // Bitwise first; within the training tolerance only when no loop matches bitwise (e.g. a step written as a division by 1/lr).
            foreach (bool bitwise in new[] { true, false })
            {
                if (!bitwise && FirstDifference(yours, reference, bitwise: false) is null)
                    return new Grade(Name, Answer, shape, Outcome.Approximate, true, Message:
                        $"within the training tolerance of the lecture's loop at all {steps} steps (not bitwise: other roundings in the step or the learning rate); loss {Losses(reference)}");
                if (runs.FirstOrDefault(r => FirstDifference(yours, r, bitwise) is null) is { } match)
                {
                    var ofReference = references.Single(r => r.Variant!.Form == match.Variant!.Form);
                    int step = FirstDifference(match, ofReference, bitwise: true)?.Step ?? 1;
                    var (cause, detail) = Explain(match.Variant!.Mistake, step, decayStep, match);
                    return Fail(Outcome.Wrong, cause, detail);
                }
            }
            var (at, parameter) = FirstDifference(yours, reference, bitwise: false)!.Value;
            return Fail(Outcome.Wrong, $"step {at}: {parameter} is not the lecture's loop's",
                $"after step {at} your {parameter} is not within the training tolerance of the lecture's loop's ({Tolerance.Training.Text}), " +
                "and no known mistake explains it: zero the gradients, loss.backward(), then p.data += -lr * p.grad, with lr = i < lr_decay_step ? 0.1 : 0.01");
        }
        finally
        {
            foreach (var c in candidates) c.Dispose();
        }
    }

    /// <summary>The short cause and the detail of a known mistake, first seen after step <paramref name="step"/> (1-based).</summary>
    private static (string Cause, string Detail) Explain(LoopMistake mistake, int step, int decayStep, LoopRun match) => mistake switch
    {
        LoopMistake.NeverZeroed => ("the gradients were never zeroed",
            $"the gradient at step {step} equals the sum of steps 1–{step}: the gradients were never zeroed — PyTorch and TorchSharp accumulate them; " +
            "zero them before each loss.backward(): p.grad = null (or optimizer.zero_grad())"),
        LoopMistake.WrongSign => ("a step with the wrong sign (up the gradient)",
            $"step 1 moved the parameters along +lr·grad, up the loss ({Losses(match)}): the step goes against the gradient, p.data += -lr * p.grad"),
        LoopMistake.DecaysLate => ("the learning-rate schedule is off by one (late)",
            $"step {step} (i = {step - 1}) used lr 0.1; the schedule is 0.01 from i = lr_decay_step = {decayStep}: lr = i < lr_decay_step ? 0.1 : 0.01 (<, not <=)"),
        LoopMistake.DecaysEarly => ("the learning-rate schedule is off by one (early)",
            $"step {step} (i = {step - 1}) used lr 0.01; the schedule is 0.1 while i < lr_decay_step = {decayStep}, with i from 0 as the lecture's range(max_steps): " +
            "lr = i < lr_decay_step ? 0.1 : 0.01"),
        _ => throw new ArgumentOutOfRangeException(nameof(mistake)),
    };

    private static string Describe(UpdateForm form) => form == UpdateForm.LectureLine
        ? "p.grad = null, loss.backward(), p.data += -lr * p.grad"
        : "zero_grad(), loss.backward(), an optimizer's step()";

    private static string Losses(LoopRun run) =>
        string.Create(CultureInfo.InvariantCulture, $"{run.Losses[0]:0.0000} → {run.Losses[^1]:0.0000}");

    /// <summary>The first step (1-based) after which a parameter of <paramref name="yours"/> is not <paramref name="other"/>'s, and which; null when none.</summary>
    private static (int Step, string Parameter)? FirstDifference(LoopRun yours, LoopRun other, bool bitwise)
    {
        for (int s = 0; s < Math.Min(yours.After.Count, other.After.Count); s++)
            foreach (var ((name, mine), (_, theirs)) in yours.After[s].Named.Zip(other.After[s].Named))
                if (bitwise ? !InputMutation.BitwiseEqual(mine, theirs) : !Cmp.CompareValues(name, mine, theirs, Tolerance.Training).Passed)
                    return (s + 1, name);
        return yours.After.Count == other.After.Count ? null : (Math.Min(yours.After.Count, other.After.Count) + 1, "C");
    }

    /// <summary>
    /// An exception in the loop, with the mistakes that cause it named: a step before <c>loss.backward()</c> (a null
    /// gradient in the lecture's line; with an optimizer, a parameter changed that the graph still needs) and a step
    /// outside <c>no_grad()</c>.
    /// </summary>
    private static (string Cause, string Detail) ExceptionCause(Exception e, int step)
    {
        string first = WorkbookGrader.FirstLine(e);
        if (e is NullReferenceException or ArgumentNullException)
            return ("a null p.grad: the step runs before loss.backward()?",
                $"at step {step}: {first} — a gradient is null before the first loss.backward() and after p.grad = null: zero, loss.backward(), then the step");
        if (e.Message.Contains("modified by an inplace operation", StringComparison.Ordinal))
            return ("the step runs before loss.backward()",
                $"at step {step}: {first} — the step changed a parameter that this step's graph still needs: zero, loss.backward(), then the step");
        if (e.Message.Contains("leaf Variable that requires grad", StringComparison.Ordinal))
            return ("the step outside no_grad()",
                $"at step {step}: {first} — the lecture's p.data is the tensor outside the graph: write the step under using (no_grad()) {{ … p.add_(-lr * p.grad) … }}");
        return (WorkbookGrader.Short($"at step {step}: {first}"), $"at step {step}: {first}");
    }

    /// <summary>
    /// One loop's run on its own copy of the init (the MLP's layers, their parameters wrapped as <see cref="Parameter"/>s):
    /// the minibatches it was handed, the parameters after each step (taken at the next forward and at the end) and the losses.
    /// </summary>
    private sealed class LoopRun : IDisposable
    {
        private readonly Mlp net;
        private readonly List<(Tensor Xb, Tensor Yb)> batches;
        private readonly Examples train;
        private readonly Generator g;

        public LoopRun(MlpParameters init, List<(Tensor Xb, Tensor Yb)> batches, Examples train, Generator g, LoopVariant? variant = null)
        {
            (this.batches, this.train, this.g, Variant) = (batches, train, g, variant);
            net = new Mlp(init.Copy(requiresGrad: false));
            foreach (var p in net.Parameters) p.Value = new Parameter(p.Value.detach(), requires_grad: true);
            Parameters = net.LectureParameters.Select(p => (Parameter)p.Parameter.Value).ToList();
        }

        public LoopVariant? Variant { get; }

        public IReadOnlyList<Parameter> Parameters { get; }

        /// <summary>The parameters after step 1, 2, …</summary>
        public List<MlpParameters> After { get; } = [];

        public List<float> Losses { get; } = [];

        public int Minibatches { get; private set; }

        public int Forwards { get; private set; }

        public (Tensor Xb, Tensor Yb) Minibatch()
        {
            // Past max_steps the draws go on from the same generator (only the count is graded then).
            var (Xb, Yb) = Minibatches < batches.Count ? batches[Minibatches] : Model.Minibatch.Draw(train, WorkbookGrader.BatchSize, g);
            Minibatches++;
            return (Xb.clone(), Yb.clone());
        }

        public Tensor Forward(Tensor Xb, Tensor Yb)
        {
            if (Forwards++ > 0) Snapshot();
            var loss = F.cross_entropy(net.Forward(Xb, ForwardMode.Train), Yb);
            Losses.Add(loss.detach().item<float>());
            return loss;
        }

        /// <summary>The parameters after the last step (nothing when no step was taken).</summary>
        public void Finish()
        {
            if (Forwards > 0 && After.Count < Forwards) Snapshot();
        }

        // Kept past the worker thread's dispose scope: compared on the caller's thread.
        private void Snapshot()
        {
            using (no_grad()) After.Add(net.Values.Map(t => t.detach().clone().DetachFromDisposeScope()));
        }

        public void Dispose()
        {
            foreach (var p in After.SelectMany(a => a.All)) p.Dispose();
            net.Dispose();
        }
    }
}
