using System.Reflection;
using ManualVsAuto.Checking;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Reporting;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>
/// Grades a learner's workbook against autograd: Exercise 1 line by line and chained, Exercises 2 and 3 as
/// approximate, Exercise 4 by training beside autograd, Exercise 5 (the training loop) beside the lecture's loop. Every
/// answer of Exercises 1–4 gets copies of its inputs, under no_grad.
/// </summary>
public static class WorkbookGrader
{
    /// <summary>Exercise 4: steps of the learner's backward against the same steps on autograd.</summary>
    public const int TrainingSteps = 300;

    public const int TrainingNHidden = 200;
    public const int BatchSize = 32;
    public const double LearningRate = 0.1;

    /// <summary>Exercise 5: steps of the learner's loop beside the lecture's; few, as each is compared bitwise.</summary>
    public const int LoopSteps = 5;

    /// <summary>Exercise 5's <c>lr_decay_step</c>: lr 0.1 for steps 1–3, 0.01 for steps 4–5, so a schedule off by one shows.</summary>
    public const int LoopDecayStep = 3;

    /// <summary>
    /// What an answer's parameters are bound to, by name: <c>n</c>, <c>eps</c>, <c>Xb</c>, <c>Yb</c>, a forward tensor or
    /// parameter by its lecture name, and <c>d&lt;name&gt;</c>, the upstream gradient <c>D(name)</c>. Every tensor is a copy.
    /// </summary>
    private sealed record Sources(ForwardState F, MlpParameters P, Tensor Xb, Tensor Yb, long N, Func<string, Tensor> D)
    {
        public object Value(string name) => name switch
        {
            // object, not the arms' common type: Tensor's implicit conversions would make n a tensor.
            "n" => (object)N,
            "eps" => (object)StepByStepForward.BnEps,
            "Xb" => Copy(Xb),
            "Yb" => Copy(Yb),
            _ when name.Length > 1 && name[0] == 'd' && ForwardNames.Contains(name[1..]) => Copy(D(name[1..])),
            _ => Copy(Field(name)),
        };

        private Tensor Field(string name) =>
            (Tensor?)(typeof(ForwardState).GetProperty(name)?.GetValue(F) ?? typeof(MlpParameters).GetProperty(name)?.GetValue(P))
            ?? throw new InvalidOperationException($"no lecture tensor named {name}");
    }

    /// <summary>Lecture names that a gradient parameter (d&lt;name&gt;) can refer to.</summary>
    private static readonly HashSet<string> ForwardNames = new(
        typeof(ForwardState).GetProperties().Select(p => p.Name).Concat(typeof(MlpParameters).GetProperties().Where(p => p.PropertyType == typeof(Tensor)).Select(p => p.Name)),
        StringComparer.Ordinal);

    /// <summary>One answer's call: the exercise, its method and the arguments, by parameter name.</summary>
    private sealed record Call(object Exercise, MethodInfo Method, object?[] Args)
    {
        public static Call Of(object exercise, MethodInfo method, Sources s) =>
            new(exercise, method, method.GetParameters().Select(p => s.Value(p.Name!)).ToArray());

        public IEnumerable<(string Name, Tensor Tensor)> Tensors =>
            Method.GetParameters().Zip(Args).Where(a => a.Second is Tensor).Select(a => (a.First.Name!, (Tensor)a.Second!));

        public Tensor? Invoke() => (Tensor?)Method.Invoke(Exercise, BindingFlags.DoNotWrapExceptions, null, Args, null);
    }

    /// <summary>The 26 gradients in the lecture's cmp order: the lecture's names, each asked of the method d&lt;name&gt;.</summary>
    private static readonly string[] Lines =
    [
        "logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes", "logits", "h", "W2", "b2",
        "hpreact", "bngain", "bnbias", "bnraw", "bnvar_inv", "bnvar", "bndiff2", "bndiff", "bnmeani", "hprebn", "embcat", "W1",
        "b1", "emb", "C",
    ];

    private static MethodInfo Exercise1Method(string name) => typeof(IExercise1).GetMethod("d" + name)!;

    /// <summary>The lecture's names of the 26 gradients of Exercise 1, in order.</summary>
    public static IReadOnlyList<string> Names { get; } = Lines;

    /// <summary>Exercises 1–3 on the lecture's first minibatch (seed 2147483647, n_hidden 64, batch 32).</summary>
    /// <param name="asking">Told the answer (e.g. "dh") before it is called, so a crash inside libtorch can be traced to it.</param>
    /// <param name="timeLimit">How long one answer may run before it is graded ERROR (<see cref="AnswerRunner.DefaultLimit"/>).</param>
    public static LectureGrade GradeLecture(IExercise1 e1, IExercise2 e2, IExercise3 e3, Examples train, ulong seed = MlpConfig.LectureSeed,
        Action<string>? asking = null, TimeSpan? timeLimit = null)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(seed);
        var p = MlpParameters.Init(new MlpConfig(), g);
        var (Xb, Yb) = Minibatch.Draw(train, BatchSize, g);
        var check = new GradientCheck();
        var f = StepByStepForward.Run(p, Xb, Yb, check);
        check.Backward(f.loss);
        long n = Yb.shape[0];
        var limit = timeLimit ?? AnswerRunner.DefaultLimit;
        Tensor Autograd(string name) => check[name].grad!;

        // The same forward and autograd in float64, made when a line is first not exact: it tells a right formula that
        // float32 rounds away from autograd's (ill-conditioned) from a mistake, even one within allclose.
        var lecture64 = new Lazy<(GradientCheck Check, ForwardState F, MlpParameters P)>(() =>
        {
            using var grad = enable_grad();
            var c64 = new GradientCheck();
            var p64 = p.Map(t => t.detach().to_type(ScalarType.Float64).requires_grad_(true));
            var f64 = StepByStepForward.Run(p64, Xb, Yb, c64);
            c64.Backward(f64.loss);
            return (c64, f64, p64);
        });
        Tensor Autograd64(string name) => lecture64.Value.Check[name].grad!;
        Sources Upstream(Func<string, Tensor> d) => new(f, p, Xb, Yb, n, d);
        Sources Upstream64(Func<string, Tensor> d) => new(lecture64.Value.F, lecture64.Value.P, Xb, Yb, n, d);
        Float64Answer InFloat64(string name, Func<Tensor> ask) => () => (ask(), Autograd64(name), lecture64.Value.Check.Tape.UpstreamScale(name));
        Tensor Ask64(object exercise, MethodInfo m, Sources s)
        {
            var call = Call.Of(exercise, m, s);
            return AnswerRunner.Run(call.Invoke, limit) ?? throw new NotAttempted();
        }

        // On its own: every line gets autograd's upstream gradients.
        Func<Tensor, MistakeHint?> LocalHint(string name, string? from = null) => manual => check.Engine.LocalHint(name, manual, from);
        var lines = Lines.Select(name => Judge(name, Autograd(name), () => Call.Of(e1, Exercise1Method(name), Upstream(Autograd)), asking, limit,
            expectExact: true, float64: InFloat64(name, () => Ask64(e1, Exercise1Method(name), Upstream64(Autograd64))), localHint: LocalHint(name))).ToList();

        var chained = new List<Grade>();
        // The chained column's origin: the first line above, among the tensor's consumers and theirs, that is
        // not right in the chain — what the check calls "inherits ← X".
        string? chainedOrigin(string name)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var queue = new Queue<string>(check.Tape.Consumers(name).Select(c => c.Name));
            string? first = null;
            int firstAt = int.MaxValue;
            while (queue.Count > 0)
            {
                var up = queue.Dequeue();
                if (!seen.Add(up)) continue;
                int at = Array.IndexOf(Lines, up);
                if (at >= 0 && at < chained.Count && !chained[at].Passed)
                {
                    var origin = chained[at].Row is { Verdict: Verdict.Inherits } r ? r.InheritsFrom[0] : up;
                    int originAt = Array.IndexOf(Lines, origin);
                    if (originAt < firstAt) (first, firstAt) = (origin, originAt);
                }
                foreach (var c in check.Tape.Consumers(up)) queue.Enqueue(c.Name);
            }
            return first;
        }

        var own = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var own64 = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, (alone, _)) in Lines.Zip(lines))
        {
            // A blank stays a blank, whatever is missing above it.
            if (alone.Outcome == Outcome.NotAttempted) { chained.Add(alone); continue; }
            var (grade, manual) = Judge(name, Autograd(name), () => Call.Of(e1, Exercise1Method(name), Upstream(Own)), asking, limit,
                expectExact: true, float64: InFloat64(name, () => Own64(name)));
            if (manual is not null && grade.Outcome is not Outcome.Error) own[name] = manual;
            // Right on its own, off in the chain: the cause is upstream, not here.
            if (alone.Passed && !grade.Passed && grade.Outcome is not Outcome.NeedsUpstream)
            {
                var from = chainedOrigin(name);
                grade = grade with
                {
                    Message = "exact on its own: a line above feeds it a gradient that is not exact" + (from is null ? "" : $" (from d{from})"),
                    Detail = grade.Message,
                    Row = from is null || grade.Row is null ? grade.Row : grade.Row with { Verdict = Verdict.Inherits, InheritsFrom = [from], DecidedLocally = true },
                };
            }
            chained.Add(grade);
        }

        var fusedCe = Judge("logits", Autograd("logits"), () => Call.Of(e2, typeof(IExercise2).GetMethod("dlogits")!, Upstream(Autograd)), asking, limit,
            expectExact: false, LectureCheck.FusedCrossEntropyLabel,
            InFloat64("logits", () => Ask64(e2, typeof(IExercise2).GetMethod("dlogits")!, Upstream64(Autograd64))), LocalHint("logits", "loss")).Grade;
        var fusedBn = Judge("hprebn", Autograd("hprebn"), () => Call.Of(e3, typeof(IExercise3).GetMethod("dhprebn")!, Upstream(Autograd)), asking, limit,
            expectExact: false, LectureCheck.FusedBatchNormLabel,
            InFloat64("hprebn", () => Ask64(e3, typeof(IExercise3).GetMethod("dhprebn")!, Upstream64(Autograd64))), LocalHint("hprebn", "hpreact")).Grade;
        if (fusedBn.Outcome == Outcome.Wrong && IntegerBessel(e3, Upstream(Autograd), limit) is { } bessel) fusedBn = bessel(fusedBn);
        return new LectureGrade(lines.Select(l => l.Grade).ToList(), chained, fusedCe, fusedBn);

        Tensor Own(string name) => own.TryGetValue(name, out var t) ? t : throw new MissingUpstream(name);

        // The learner's own chain in float64, line by line as it is needed; a line that fails there is named.
        Tensor Own64(string name)
        {
            if (own64.TryGetValue(name, out var t)) return t;
            try
            {
                t = Ask64(e1, Exercise1Method(name), Upstream64(Own64));
            }
            catch (Exception e) when (e is not (Float64Failure or NotAttempted))
            {
                throw new Float64Failure(name, e);
            }
            return own64[name] = t;
        }
    }

    /// <summary>
    /// Exercise 3 with <c>n / (n - 1)</c> written on longs is 1 (integer division): the formula then matches the
    /// fused backward with that factor 1. Null when the wrong answer is not that.
    /// </summary>
    private static Func<Grade, Grade>? IntegerBessel(IExercise3 e3, Sources s, TimeSpan limit)
    {
        using var scope = NewDisposeScope();
        using var mode = no_grad();
        Tensor mine;
        try { mine = AnswerRunner.Run(() => Call.Of(e3, typeof(IExercise3).GetMethod("dhprebn")!, s).Invoke(), limit)!; }
        catch (Exception) { return null; }
        if (mine is null) return null;
        var dhpreact = s.D("hpreact");
        var (bngain, bnvar_inv, bnraw) = (s.P.bngain, s.F.bnvar_inv, s.F.bnraw);
        long n = s.N;
        var factorOne = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0, keepdim: false) - bnraw * (dhpreact * bnraw).sum(0, keepdim: false));
        if (!mine.shape.SequenceEqual(factorOne.shape) || !mine.allclose(factorOne, 1e-4, 1e-7)) return null;
        return g => g with
        {
            Message = "a factor n/(n−1) that is 1 — integer division?",
            Detail = "hint: n / (n - 1) with a long n is 1 in C# (integer division): write n / (n - 1.0)",
        };
    }

    /// <summary>
    /// Exercise 4: <see cref="TrainingSteps"/> steps of the lecture's loop (n_hidden 200, batch 32, lr 0.1) on the
    /// learner's backward, beside the same steps on autograd (<see cref="AutogradLayerTrainer"/> on the MLP's layers) from the same init and
    /// minibatches. At every step each of the 7 gradients must be within the training tolerance of autograd's
    /// (<see cref="Tolerance.Training"/>), compared as <c>--verify-every</c> compares them (<see cref="GradientVerifier.Compare"/>).
    /// </summary>
    public static Grade GradeTraining(IExercise4 e4, Examples train, int steps = TrainingSteps, ulong seed = MlpConfig.LectureSeed,
        Action<string>? asking = null, TimeSpan? timeLimit = null)
    {
        asking?.Invoke("Exercise 4's Backward");
        const string name = "training", answer = "Backward";
        string shape = $"{steps} steps";
        var limit = timeLimit ?? AnswerRunner.DefaultLimit;
        string? methodAt = AnswerLocation.OfMethod(e4, answer);
        using var scope = NewDisposeScope();
        var g = new Generator(seed);
        var init = MlpParameters.Init(new MlpConfig(NHidden: TrainingNHidden), g);
        using var net = new Mlp(init.Copy(requiresGrad: false)); // your parameters, updated by your gradients
        var yours = net.Values;
        using var autograd = new AutogradLayerTrainer(new Mlp(init.Copy(requiresGrad: false)));
        var autogradParameters = ((Mlp)autograd.Model).Values;
        // Autograd's gradients summed over the steps so far: a backward that accumulates matches them.
        var sums = init.Map(t => zeros_like(t));
        double firstLoss = double.NaN, yourLoss = double.NaN, autogradLoss = double.NaN;
        Grade Fail(Outcome o, string message, string? detail = null, GradientRow? row = null, string? at = null) =>
            new(name, answer, shape, o, false, row, message) { Detail = detail, Location = at ?? methodAt };
        for (int step = 0; step < steps; step++)
        {
            using var stepScope = NewDisposeScope();
            var (Xb, Yb) = Minibatch.Draw(train, BatchSize, g);
            MlpParameters? grads;
            TrainingForwardState f;
            InputSnapshot inputs;
            using (no_grad())
            {
                f = net.Run(Xb, Yb, ForwardMode.Inspect);
                var copy = new TrainingForwardState(Copy(f.embcat), Copy(f.bnvar_inv), Copy(f.bnraw), Copy(f.h), Copy(f.logits), Copy(f.loss));
                var pc = yours.Map(Copy);
                var (xc, yc) = (Copy(Xb), Copy(Yb));
                inputs = new InputSnapshot(pc.Named.Select(t => ("p." + t.Name, t.Tensor))
                    .Concat([("f.embcat", copy.embcat), ("f.bnvar_inv", copy.bnvar_inv), ("f.bnraw", copy.bnraw), ("f.h", copy.h),
                        ("f.logits", copy.logits), ("f.loss", copy.loss), ("Xb", xc), ("Yb", yc)]));
                try
                {
                    grads = AnswerRunner.Run(() => e4.Backward(pc, copy, xc, yc), limit);
                }
                catch (NotAttempted) { return new Grade(name, answer, shape, Outcome.NotAttempted, false); }
                catch (AnswerTimedOut t) { return Fail(Outcome.Error, $"at step {step}: {t.Message}"); }
                catch (Exception ex)
                {
                    return Fail(Outcome.Error, Short($"at step {step}: {FirstLine(ex)}"), $"at step {step}: {FirstLine(ex)}",
                        at: AnswerLocation.OfException(ex, e4.GetType().Assembly));
                }
            }
            using var inputsLifetime = inputs;
            if (grads is null) return Fail(Outcome.Wrong, $"at step {step}: returned null");
            if (inputs.Changed() is [var (input, op, _), ..])
                return Fail(Outcome.Wrong, Short($"at step {step}: changed {input} in place{(op is null ? "" : $" ({op})")}"),
                    $"at step {step}: your Backward changed {input} in place{(op is null ? "" : $" ({op})")}: the lecture's loop uses it after the backward — work on a copy ({input}.clone()) or use the out-of-place op");
            var reference = autograd.Step(Xb, Yb, LearningRate);
            using (no_grad())
                foreach (var ((_, sum), (_, param)) in sums.Named.Zip(autogradParameters.Named)) sum.add_(param.grad!);
            var missing = grads.Named.FirstOrDefault(x => x.Tensor is null).Name;
            if (missing is not null) return Fail(Outcome.Wrong, $"at step {step}: d{missing} is null");
            // In backward order, as --verify-every: the first gradient that is off names where the mistake likely is (a wrong dlogits at b2).
            var rows = GradientVerifier.Compare(grads.InLayerOrder.Zip(autogradParameters.InLayerOrder, (m, a) => ("d" + m.Name, m.Tensor, a.Tensor.grad!)).ToList());
            if (rows.Any(r => !r.Passed)) rows = GradientVerifier.NameOneConsumersShare(rows, grads, yours, Xb, Yb);
            if (rows.FirstOrDefault(r => !r.Passed) is { } failing)
            {
                string pname = failing.Name[1..];
                var mine = grads.Named.Single(x => x.Name == pname).Tensor;
                if (step > 0 && GradientVerifier.Accumulated(mine, sums.Named.Single(x => x.Name == pname).Tensor, step) is { } acc)
                    return Fail(Outcome.Wrong, Short($"at step {step}: d{pname} accumulates over the steps"), $"at step {step}: {failing.Name} {acc}", failing);
                if (failing.Cause is { } share && share.Contains("share only", StringComparison.Ordinal))
                    return Fail(Outcome.Wrong, Short($"at step {step}: {failing.Name}: {share}"), $"at step {step}: {failing.Hint}", failing);
                if (failing.Verdict == Verdict.ShapeMismatch)
                    return Fail(Outcome.Wrong, Short($"at step {step}: {failing.Name} has shape {Cmp.Shape(mine.shape)}"),
                        $"at step {step}: {failing.Name} has shape {Cmp.Shape(mine.shape)}, {pname} has {failing.ShapeText}", failing);
                return Fail(Outcome.Wrong, Short($"at step {step}: {failing.Name} not within the training tolerance"),
                    $"at step {step}: {failing.Name} is not within the training tolerance of autograd's ({Tolerance.Training.Text})", failing);
            }
            using (no_grad())
            {
                foreach (var ((_, p), (_, grad)) in yours.Named.Zip(grads.Named)) p.add_(grad, alpha: -LearningRate);
            }
            yourLoss = f.loss.to_type(ScalarType.Float64).item<double>();
            autogradLoss = reference.to_type(ScalarType.Float64).item<double>();
            if (step == 0) firstLoss = yourLoss;
        }
        return new Grade(name, answer, shape, Outcome.Approximate, true, Message: FormattableString.Invariant(
            $"every gradient within the training tolerance of autograd's at all {steps} steps; loss {firstLoss:0.0000} → {yourLoss:0.0000} (autograd {autogradLoss:0.0000})"));
    }

    /// <summary>
    /// Exercise 5: the learner's training loop (<see cref="IExercise5"/>) for <see cref="LoopSteps"/> steps with
    /// <c>lr_decay_step</c> <see cref="LoopDecayStep"/>, beside the lecture's loop (<see cref="LectureLoop"/>, n_hidden 200,
    /// batch 32) from the same init and minibatches; bitwise the same in either update form is exact, within the
    /// training tolerance approximate, and a loop that matches a known mistake (never zeroed, the wrong sign, the step
    /// before backward, the schedule off by one) gets it named.
    /// </summary>
    public static Grade GradeLoop(IExercise5 e5, Examples train, ulong seed = MlpConfig.LectureSeed, Action<string>? asking = null, TimeSpan? timeLimit = null)
    {
        asking?.Invoke("Exercise 5's Train");
        return LoopGrader.Grade(e5, train, LoopSteps, LoopDecayStep, seed, timeLimit ?? AnswerRunner.DefaultLimit);
    }

    /// <summary>The same answer asked in float64, autograd's float64 gradient and the largest upstream gradient (for rounding noise).</summary>
    private delegate (Tensor Manual, Tensor Autograd, double Upstream) Float64Answer();

    /// <summary>
    /// Asks for one answer (on a worker thread, within the time limit, on copies of its inputs) and compares it with
    /// autograd's gradient; the learner's tensor comes back for chaining. An answer that changed one of its inputs in
    /// place is wrong whatever its value. An answer that is not exact is decided in float64 as the check decides its
    /// rows: right in float64 it passes (approximate, ill-conditioned in float32 or rounding noise); allclose in
    /// float32 but wrong in float64 it is wrong.
    /// </summary>
    private static (Grade Grade, Tensor? Manual) Judge(string name, Tensor reference, Func<Call> makeCall, Action<string>? asking, TimeSpan limit,
        bool expectExact, string? label = null, Float64Answer? float64 = null, Func<Tensor, MistakeHint?>? localHint = null)
    {
        string answer = "d" + name, shape = Cmp.Shape(reference.shape);
        string gradeName = label ?? name;
        asking?.Invoke(label is null ? answer : $"{answer} ({label})");
        Call call;
        try
        {
            call = makeCall();
        }
        catch (MissingUpstream m) { return (new Grade(gradeName, answer, shape, Outcome.NeedsUpstream, false, Message: $"needs your d{m.Name} first"), null); }
        string? methodAt = AnswerLocation.OfMethod(call.Exercise, call.Method.Name);
        Grade Failed(Outcome o, string message, string? detail = null, GradientRow? row = null, string? at = null) =>
            new(gradeName, answer, shape, o, false, row, message) { Detail = detail, Location = at ?? methodAt };

        using var inputs = new InputSnapshot(call.Tensors);
        Tensor? manual;
        string? alias = null;
        try
        {
            manual = AnswerRunner.Run(() =>
            {
                var r = call.Invoke();
                if (r is not null) alias = inputs.NameOf(r);
                return r;
            }, limit);
        }
        catch (NotAttempted) { return (new Grade(gradeName, answer, shape, Outcome.NotAttempted, false), null); }
        catch (AnswerTimedOut t) { return (Failed(Outcome.Error, t.Message), null); }
        catch (Exception e)
        {
            var (cause, detail) = ExceptionCause(e);
            return (Failed(Outcome.Error, cause, detail, at: AnswerLocation.OfException(e, call.Exercise.GetType().Assembly)), null);
        }
        if (manual is null) return (Failed(Outcome.Wrong, "returned null", "return the gradient (throw new NotAttempted() leaves it blank)"), null);

        GradientRow row;
        try
        {
            row = Cmp.CompareValues(gradeName, manual, reference) with { ExpectExact = expectExact };
        }
        catch (GradientCheckException e) { return (Failed(Outcome.Wrong, Short(e.Message), e.Message), manual); }

        // In-place damage: wrong even when the value is right, since in the notebook the lines after it read the damaged tensor.
        if (inputs.Changed() is [var (input, op, by), ..])
        {
            string corrupts = Readers(call.Method, input) is { Count: > 0 } readers
                ? $"in the notebook this corrupts {string.Join(" and ", readers)}"
                : $"in the notebook every later use of {input} reads the damaged one";
            string fix = op is not null && by is not null
                ? $"use {input} {OpSymbol(op)} {by}"
                : $"work on a copy ({input}.clone()) or use the op without _";
            return (Failed(Outcome.Wrong, Short($"changed {input} in place{(op is null ? "" : $" ({op})")}"),
                $"your {answer} changed {input} in place{(op is null ? "" : $" ({op})")}; {corrupts} — {fix}", row), manual);
        }
        if (alias is not null)
            return (Failed(Outcome.Wrong, $"returned {alias} itself (an alias)",
                $"your {answer} returns its input {alias} itself: in the notebook a later change to one changes the other — return a new tensor ({alias}.clone())", row), manual);

        if (row.Verdict is Verdict.Approximate or Verdict.Wrong && float64 is not null) row = DecideInFloat64(row, float64);
        // Fed autograd's upstream gradients, a wrong line is wrong here (the chained grade only compares), and the
        // check's own hint for it applies: the one from its local reference, which knows every consumer's share.
        if (row.Verdict == Verdict.Wrong)
        {
            row = row with { DecidedLocally = true };
            if (localHint?.Invoke(manual) is { } h) row = row with { Hint = h.Text, Cause = h.Cause };
        }
        var outcome = row.Verdict switch
        {
            Verdict.Exact => Outcome.Exact,
            Verdict.Approximate or Verdict.IllConditioned or Verdict.RoundingNoise => Outcome.Approximate,
            _ => Outcome.Wrong,
        };
        // An approximate line passes: it is the right maths with other floating-point operations (the lecture's own
        // dhpreact = (1 - h**2) * dh is one); the report still says "approximate", and exact stays the finish line.
        bool passed = row.Meets(RequiredLevel.Approx);
        return (new Grade(gradeName, answer, shape, outcome, passed, row) { Location = passed ? null : methodAt }, manual);
    }

    /// <summary>The later Exercise-1 answers (in the lecture's order) that read the same input: what an in-place change corrupts.</summary>
    private static List<string> Readers(MethodInfo method, string input)
    {
        if (method.DeclaringType != typeof(IExercise1)) return [];
        int at = Array.IndexOf(Lines, method.Name[1..]);
        return Lines.Skip(at + 1).Select(Exercise1Method)
            .Where(m => m.GetParameters().Any(p => p.Name == input)).Select(m => m.Name).ToList();
    }

    private static string OpSymbol(string op) => op switch { "mul_" => "*", "add_" => "+", "sub_" => "-", _ => "/" };

    /// <summary>An exception's short cause and its detail, with the fix for TorchSharp's own traps.</summary>
    private static (string Cause, string Detail) ExceptionCause(Exception e)
    {
        string first = FirstLine(e);
        if (e.Message.Contains("requires the source and destination dtypes match", StringComparison.Ordinal))
            return ("a double value put into a float tensor (dtype)",
                first + " — hint: a C# double (-1.0 / n) is float64; make the values in the tensor's dtype, " +
                "e.g. full([n], -1.0 / n, dtype: logprobs.dtype), which also runs in the float64 rerun ((float) does not)");
        return (Short(first), first);
    }

    /// <summary>A cause cut to about 60 characters for the table; the detail line carries the rest.</summary>
    internal static string Short(string text) => text.Length <= 60 ? text : text[..57].TrimEnd() + "…";

    /// <summary>A row that is not exact, decided by the same answer in float64; the float32 verdict stands when float64 cannot run.</summary>
    private static GradientRow DecideInFloat64(GradientRow row, Float64Answer float64)
    {
        Tensor m64, a64;
        double upstream;
        try
        {
            using (no_grad()) (m64, a64, upstream) = float64();
            m64 = m64.detach().to_type(ScalarType.Float64);
        }
        catch (Float64Failure e)
        {
            return row with { Evidence = $"not decided in float64: your d{e.Name} fails there ({FirstLine(e.InnerException!)})" };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return row with { Evidence = $"not decided in float64: your answer fails there ({FirstLine(e)})" };
        }
        if (!m64.shape.SequenceEqual(a64.shape)) return row;
        if (Float64Decision.Proved(row, m64, a64, upstream, rowIsFloat64: false, "float64") is { } proved) return proved;
        if (row.Verdict == Verdict.Wrong) return row;
        // allclose in float32 hides it (e.g. a dropped eps): float64 shows the formula is not autograd's.
        using var scope = NewDisposeScope();
        var hint = MistakeHints.Diagnose(m64, a64, m64.shape);
        double d = (m64 - a64).abs().max().item<double>(), a = a64.abs().max().item<double>();
        return row with
        {
            Verdict = Verdict.Wrong, Hint = hint?.Text, Cause = hint?.Cause ?? "allclose in float32 only",
            Evidence = $"allclose in float32, but in float64 max|manual − autograd| {NumberFormat.Diff(d)} > 1e-9 × max|autograd| {NumberFormat.Diff(a)}",
        };
    }

    private static Tensor Copy(Tensor t) => t.detach().clone();

    /// <summary>An exception's message without TorchSharp's native stack: the first line.</summary>
    internal static string FirstLine(Exception e) =>
        $"{e.GetType().Name}: {e.Message.Split('\n', 2)[0].Trim()}";

    private sealed class MissingUpstream(string name) : Exception($"needs d{name}")
    {
        public string Name { get; } = name;
    }

    /// <summary>A line of the learner's float64 chain that fails (e.g. a float32 constant put into a float64 tensor).</summary>
    private sealed class Float64Failure(string name, Exception inner) : Exception($"d{name} fails in float64", inner)
    {
        public string Name { get; } = name;
    }
}
