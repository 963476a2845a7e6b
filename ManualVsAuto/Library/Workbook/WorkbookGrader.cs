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
/// approximate, Exercise 4 by training beside autograd. Every answer gets copies of its inputs, under no_grad.
/// </summary>
public static class WorkbookGrader
{
    /// <summary>Exercise 4: steps of the learner's backward against the same steps on autograd.</summary>
    public const int TrainingSteps = 300;

    public const int TrainingHidden = 200;
    public const int BatchSize = 32;
    public const double LearningRate = 0.1;

    /// <summary>What an Exercise-1 line receives: copies of the forward tensors and parameters, and <c>d(name)</c>, the upstream gradients.</summary>
    private sealed record Inputs(ForwardState f, MlpParameters p, Tensor Xb, Tensor Yb, long n, Func<string, Tensor> d);

    /// <summary>The 26 gradients in the lecture's cmp order, each with how to ask the learner for it.</summary>
    private static readonly (string Name, Func<IExercise1, Inputs, Tensor> Ask)[] Lines =
    [
        ("logprobs", (e, x) => e.dlogprobs(x.f.logprobs, x.Yb, x.n)),
        ("probs", (e, x) => e.dprobs(x.d("logprobs"), x.f.probs)),
        ("counts_sum_inv", (e, x) => e.dcounts_sum_inv(x.d("probs"), x.f.counts)),
        ("counts_sum", (e, x) => e.dcounts_sum(x.d("counts_sum_inv"), x.f.counts_sum)),
        ("counts", (e, x) => e.dcounts(x.d("probs"), x.f.counts_sum_inv, x.d("counts_sum"), x.f.counts)),
        ("norm_logits", (e, x) => e.dnorm_logits(x.d("counts"), x.f.counts)),
        ("logit_maxes", (e, x) => e.dlogit_maxes(x.d("norm_logits"))),
        ("logits", (e, x) => e.dlogits(x.d("norm_logits"), x.d("logit_maxes"), x.f.logits)),
        ("h", (e, x) => e.dh(x.d("logits"), x.p.W2)),
        ("W2", (e, x) => e.dW2(x.d("logits"), x.f.h)),
        ("b2", (e, x) => e.db2(x.d("logits"))),
        ("hpreact", (e, x) => e.dhpreact(x.d("h"), x.f.h)),
        ("bngain", (e, x) => e.dbngain(x.d("hpreact"), x.f.bnraw)),
        ("bnbias", (e, x) => e.dbnbias(x.d("hpreact"))),
        ("bnraw", (e, x) => e.dbnraw(x.d("hpreact"), x.p.bngain)),
        ("bnvar_inv", (e, x) => e.dbnvar_inv(x.d("bnraw"), x.f.bndiff)),
        ("bnvar", (e, x) => e.dbnvar(x.d("bnvar_inv"), x.f.bnvar, ChunkedForward.BnEps)),
        ("bndiff2", (e, x) => e.dbndiff2(x.d("bnvar"), x.f.bndiff2, x.n)),
        ("bndiff", (e, x) => e.dbndiff(x.d("bnraw"), x.f.bnvar_inv, x.d("bndiff2"), x.f.bndiff)),
        ("bnmeani", (e, x) => e.dbnmeani(x.d("bndiff"))),
        ("hprebn", (e, x) => e.dhprebn(x.d("bndiff"), x.d("bnmeani"), x.f.hprebn, x.n)),
        ("embcat", (e, x) => e.dembcat(x.d("hprebn"), x.p.W1)),
        ("W1", (e, x) => e.dW1(x.d("hprebn"), x.f.embcat)),
        ("b1", (e, x) => e.db1(x.d("hprebn"))),
        ("emb", (e, x) => e.demb(x.d("embcat"), x.f.emb)),
        ("C", (e, x) => e.dC(x.d("emb"), x.p.C, x.Xb)),
    ];

    /// <summary>The lecture's names of the 26 gradients of Exercise 1, in order.</summary>
    public static IReadOnlyList<string> Names { get; } = Lines.Select(l => l.Name).ToList();

    /// <summary>Exercises 1–3 on the lecture's first minibatch (seed 2147483647, n_hidden 64, batch 32).</summary>
    /// <param name="asking">Told the answer (e.g. "dh") before it is called, so a crash inside libtorch can be traced to it.</param>
    public static LectureGrade GradeLecture(IExercise1 e1, IExercise2 e2, IExercise3 e3, Examples train, ulong seed = MlpConfig.LectureSeed,
        Action<string>? asking = null)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(seed);
        var p = MlpParameters.Init(new MlpConfig(), g);
        var (Xb, Yb) = Minibatch.Sample(train, BatchSize, g);
        var check = new GradientCheck();
        var f = ChunkedForward.Run(p, Xb, Yb, check);
        check.Backward(f.loss);
        long n = Yb.shape[0];
        Tensor Autograd(string name) => check[name].grad!;

        // The same forward and autograd in float64, made when a line is first not exact: it tells a right formula that
        // float32 rounds away from autograd's (ill-conditioned) from a mistake, even one within allclose.
        var lecture64 = new Lazy<(GradientCheck Check, ForwardState F, MlpParameters P)>(() =>
        {
            using var grad = enable_grad();
            var c64 = new GradientCheck();
            var p64 = p.Map(t => t.detach().to_type(ScalarType.Float64).requires_grad_(true));
            var f64 = ChunkedForward.Run(p64, Xb, Yb, c64);
            c64.Backward(f64.loss);
            return (c64, f64, p64);
        });
        Tensor Autograd64(string name) => lecture64.Value.Check[name].grad!;
        Float64Answer InFloat64(string name, Func<Tensor> ask) => () => (ask(), Autograd64(name), lecture64.Value.Check.Tape.UpstreamScale(name));

        // On its own: every line gets autograd's upstream gradients.
        var lines = Lines.Select(l => Judge(l.Name, Autograd(l.Name), () => l.Ask(e1, Copies(Autograd)), asking, expectExact: true,
            float64: InFloat64(l.Name, () => l.Ask(e1, Copies64(Autograd64)))).Grade).ToList();

        // Chained: every line gets the learner's own upstream gradients, as in the notebook.
        var own = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var own64 = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var chained = new List<Grade>();
        foreach (var ((name, ask), alone) in Lines.Zip(lines))
        {
            // A blank stays a blank, whatever is missing above it.
            if (alone.Outcome == Outcome.NotAttempted) { chained.Add(alone); continue; }
            var (grade, manual) = Judge(name, Autograd(name), () => ask(e1, Copies(Own)), asking, expectExact: true,
                float64: InFloat64(name, () => Own64(name)));
            if (manual is not null && grade.Outcome is not Outcome.Error) own[name] = manual;
            // Right on its own, off in the chain: the cause is upstream, not here.
            if (alone.Passed && !grade.Passed && grade.Outcome is not Outcome.NeedsUpstream)
                grade = grade with { Message = "exact on its own: a line above it feeds it a gradient that is not exact" };
            chained.Add(grade);
        }

        var fusedCe = Judge("logits", Autograd("logits"), () => e2.dlogits(Copy(f.logits), Copy(Yb), n), asking,
            expectExact: false, LectureCheck.FusedCrossEntropyLabel,
            InFloat64("logits", () => e2.dlogits(Copy(lecture64.Value.F.logits), Copy(Yb), n))).Grade;
        var fusedBn = Judge("hprebn", Autograd("hprebn"),
            () => e3.dhprebn(Copy(Autograd("hpreact")), Copy(p.bngain), Copy(f.bnvar_inv), Copy(f.bnraw), n), asking,
            expectExact: false, LectureCheck.FusedBatchNormLabel,
            InFloat64("hprebn", () =>
            {
                var (_, f64, p64) = lecture64.Value;
                return e3.dhprebn(Copy(Autograd64("hpreact")), Copy(p64.bngain), Copy(f64.bnvar_inv), Copy(f64.bnraw), n);
            })).Grade;
        return new LectureGrade(lines, chained, fusedCe, fusedBn);

        Tensor Own(string name) => own.TryGetValue(name, out var t) ? t : throw new MissingUpstream(name);
        Inputs Copies(Func<string, Tensor> upstream) =>
            new(CopyOf(f), p.Map(Copy), Copy(Xb), Copy(Yb), n, name => Copy(upstream(name)));
        Inputs Copies64(Func<string, Tensor> upstream) =>
            new(CopyOf(lecture64.Value.F), lecture64.Value.P.Map(Copy), Copy(Xb), Copy(Yb), n, name => Copy(upstream(name)));

        // The learner's own chain in float64, line by line as it is needed.
        Tensor Own64(string name)
        {
            if (own64.TryGetValue(name, out var t)) return t;
            var (_, ask) = Lines.First(l => l.Name == name);
            using (no_grad()) t = ask(e1, Copies64(Own64)) ?? throw new NotAttempted();
            return own64[name] = t;
        }
    }

    /// <summary>
    /// Exercise 4: <see cref="TrainingSteps"/> steps of the lecture's loop (n_hidden 200, batch 32, lr 0.1) on the
    /// learner's backward, beside the same steps on autograd (<see cref="AutogradLayerTrainer"/> on the MLP's layers) from the same init and
    /// minibatches. At every step each of the 7 gradients must be within the training tolerance of autograd's
    /// (<see cref="Tolerance.Training"/>).
    /// </summary>
    public static Grade GradeTraining(IExercise4 e4, Examples train, int steps = TrainingSteps, ulong seed = MlpConfig.LectureSeed,
        Action<string>? asking = null)
    {
        asking?.Invoke("Exercise 4's Backward");
        const string name = "training", answer = "Backward";
        string shape = $"{steps} steps";
        using var scope = NewDisposeScope();
        var g = new Generator(seed);
        var init = MlpParameters.Init(new MlpConfig(NHidden: TrainingHidden), g);
        using var net = new Mlp(init.Copy(requiresGrad: false)); // your parameters, updated by your gradients
        var yours = net.Values;
        using var autograd = new AutogradLayerTrainer(new Mlp(init.Copy(requiresGrad: false)));
        var autogradParameters = ((Mlp)autograd.Model).Values;
        double firstLoss = double.NaN, yourLoss = double.NaN, autogradLoss = double.NaN;
        for (int step = 0; step < steps; step++)
        {
            using var stepScope = NewDisposeScope();
            var (Xb, Yb) = Minibatch.Sample(train, BatchSize, g);
            MlpParameters grads;
            TrainingForwardState f;
            using (no_grad())
            {
                f = net.Run(Xb, Yb, ForwardMode.Probe);
                var copy = new TrainingForwardState(Copy(f.embcat), Copy(f.bnvar_inv), Copy(f.bnraw), Copy(f.h), Copy(f.logits), Copy(f.loss));
                try
                {
                    grads = e4.Backward(yours.Map(Copy), copy, Copy(Xb), Copy(Yb)) ?? throw new NotAttempted();
                }
                catch (NotAttempted) { return new Grade(name, answer, shape, Outcome.NotAttempted, false); }
                catch (Exception ex) { return new Grade(name, answer, shape, Outcome.Error, false, Message: $"at step {step}: {FirstLine(ex)}"); }
            }
            var reference = autograd.Step(Xb, Yb, LearningRate);
            // In backward order: the first gradient that is off names where the mistake likely is (a wrong dlogits at b2).
            foreach (var ((pname, mine), (_, param)) in grads.InLayerOrder.Reverse().Zip(autogradParameters.InLayerOrder.Reverse()))
            {
                var truth = param.grad!;
                if (mine is null || !mine.shape.SequenceEqual(truth.shape))
                    return new Grade(name, answer, shape, Outcome.Wrong, false, Message:
                        $"at step {step}: d{pname} has shape {(mine is null ? "null" : Cmp.Shape(mine.shape))}, {pname} has {Cmp.Shape(truth.shape)}");
                var row = Cmp.CompareValues("d" + pname, mine, truth, Tolerance.Training);
                if (!row.Passed)
                    return new Grade(name, answer, shape, Outcome.Wrong, false, row,
                        $"at step {step}: d{pname} is not within the training tolerance of autograd's ({Tolerance.Training.Text})");
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

    /// <summary>The same answer asked in float64, autograd's float64 gradient and the largest upstream gradient (for rounding noise).</summary>
    private delegate (Tensor Manual, Tensor Autograd, double Upstream) Float64Answer();

    /// <summary>
    /// Asks for one answer and compares it with autograd's gradient; the learner's tensor comes back for chaining.
    /// An answer that is not exact is decided in float64 as the check decides its rows: right in float64 it passes
    /// (approximate, ill-conditioned in float32 or rounding noise); allclose in float32 but wrong in float64 it is wrong.
    /// </summary>
    private static (Grade Grade, Tensor? Manual) Judge(string name, Tensor reference, Func<Tensor> ask, Action<string>? asking, bool expectExact,
        string? label = null, Float64Answer? float64 = null)
    {
        string answer = "d" + name, shape = Cmp.Shape(reference.shape);
        Tensor? manual;
        asking?.Invoke(label is null ? answer : $"{answer} ({label})");
        try
        {
            using (no_grad()) manual = ask();
        }
        catch (NotAttempted) { return (new Grade(label ?? name, answer, shape, Outcome.NotAttempted, false), null); }
        catch (MissingUpstream m) { return (new Grade(label ?? name, answer, shape, Outcome.NeedsUpstream, false, Message: $"needs your d{m.Name} first"), null); }
        catch (Exception e) { return (new Grade(label ?? name, answer, shape, Outcome.Error, false, Message: FirstLine(e)), null); }
        if (manual is null) return (new Grade(label ?? name, answer, shape, Outcome.NotAttempted, false), null);

        GradientRow row;
        try
        {
            row = Cmp.CompareValues(label ?? name, manual, reference) with { ExpectExact = expectExact };
        }
        catch (GradientCheckException e) { return (new Grade(label ?? name, answer, shape, Outcome.Wrong, false, Message: e.Message), manual); }
        if (row.Verdict is Verdict.Approximate or Verdict.Wrong && float64 is not null) row = DecideInFloat64(row, float64);
        // Fed autograd's upstream gradients, a wrong line is wrong here (the chained grade only compares).
        if (row.Verdict == Verdict.Wrong) row = row with { DecidedLocally = true };
        var outcome = row.Verdict switch
        {
            Verdict.Exact => Outcome.Exact,
            Verdict.Approximate or Verdict.IllConditioned or Verdict.RoundingNoise => Outcome.Approximate,
            _ => Outcome.Wrong,
        };
        // An approximate line passes: it is the right maths with other floating-point operations (the lecture's own
        // dhpreact = (1 - h**2) * dh is one); the report still says "approximate", and exact stays the finish line.
        bool passed = row.Meets(RequiredLevel.Approx);
        return (new Grade(label ?? name, answer, shape, outcome, passed, row), manual);
    }

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
            Evidence = $"allclose in float32, but in float64 max|manual − autograd| {Numbers.Diff(d)} > 1e-9 × max|autograd| {Numbers.Diff(a)}",
        };
    }

    private static Tensor Copy(Tensor t) => t.detach().clone();

    private static ForwardState CopyOf(ForwardState f) => new(
        Copy(f.emb), Copy(f.embcat), Copy(f.hprebn), Copy(f.bnmeani), Copy(f.bndiff), Copy(f.bndiff2), Copy(f.bnvar),
        Copy(f.bnvar_inv), Copy(f.bnraw), Copy(f.hpreact), Copy(f.h), Copy(f.logits), Copy(f.logit_maxes),
        Copy(f.norm_logits), Copy(f.counts), Copy(f.counts_sum), Copy(f.counts_sum_inv), Copy(f.probs),
        Copy(f.logprobs), Copy(f.loss));

    /// <summary>An exception's message without TorchSharp's native stack: the first line.</summary>
    private static string FirstLine(Exception e) =>
        $"{e.GetType().Name}: {e.Message.Split('\n', 2)[0].Trim()}";

    private sealed class MissingUpstream(string name) : Exception($"needs d{name}")
    {
        public string Name { get; } = name;
    }
}
