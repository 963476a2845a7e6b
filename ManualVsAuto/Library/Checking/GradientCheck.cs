using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// The reusable mechanism behind every report. The common case is the one call <see cref="Of"/> (named inputs, a
/// forward of named steps, a backward returning named gradients). Step by step: register the forward steps you want checked by name
/// (<see cref="Track"/> keeps their gradients; <see cref="Step"/> also records the step's inputs, for local verdicts),
/// run <see cref="Backward"/>, then hand in your manual gradients by name with <see cref="Compare"/>, in backward
/// order. <see cref="ToText"/> is the report; <see cref="AssertAllExact"/> and <see cref="AssertAllClose"/> throw a
/// <see cref="GradientAssertionException"/> whose message is the table of the failing rows.
/// </summary>
public sealed partial class GradientCheck : IStepRecorder
{
    /// <summary>
    /// Float64 agreement that proves a formula right: |manual64 − autograd64| ≤ 1e-9·max|autograd64| element by
    /// element. Float64 rounding of a correct formula stays near 1e-16 relative even at condition numbers of 1e6;
    /// a wrong one (even one that only drops the batchnorm's eps) misses by far more.
    /// </summary>
    public const double Float64Tolerance = 1e-9;

    /// <summary>
    /// A true gradient of 0 (b1 under batchnorm): max|autograd64| and max|manual64| both ≤ 1e-10 × the largest upstream
    /// gradient. A relative tolerance means nothing on a zero gradient, so this is decided first.
    /// </summary>
    public const double NoiseTolerance = 1e-10;

    /// <summary>
    /// Without a float64 rerun, a float32 row that is not allclose but differs by no more than this fraction of the
    /// gradients' scale could be float32 rounding of an ill-conditioned formula: float32 cannot decide.
    /// </summary>
    public const double UndecidableFraction = 1e-3;

    /// <summary>
    /// Without steps (plain <see cref="Track"/>) and without float64, a row is undecided only if its difference is also
    /// within this fraction of its own largest value (or the row could be a true 0); beyond, it is wrong.
    /// </summary>
    public const double UndecidableOwnFraction = 1e-2;

    /// <summary>
    /// Without a float64 side, a float32 gradient no larger than this fraction of the upstream scale could be a true
    /// gradient of 0 (a hundred float32 ulps): no mistake signature is read into it.
    /// </summary>
    public const double Float32NoiseFraction = 1e-5;

    private readonly StepTape tape = new();
    private readonly Float64Decision float64 = new();
    private readonly VerdictEngine engine;

    public GradientCheck() => engine = new VerdictEngine(tape, float64);

    /// <summary>The tracked tensors and recorded steps, for the verdict engine and the library's own graders.</summary>
    internal StepTape Tape => tape;

    /// <summary>The verdict engine that judges this check's rows (the workbook grader and one-call checks judge through it).</summary>
    internal VerdictEngine Engine => engine;

    /// <summary>Registers <paramref name="t"/> under <paramref name="name"/>, keeping its gradient, and returns it.</summary>
    public Tensor Track(string name, Tensor t)
    {
        tape.Track(name, t);
        return t;
    }

    /// <summary>
    /// Runs a forward step written as a function of earlier tracked steps read by name, e.g.
    /// <c>check.Step("probs", x =&gt; x("counts") * x("counts_sum_inv"))</c>, tracks its value under
    /// <paramref name="name"/> and records which tensors it read. A parameter is a step with no inputs:
    /// <c>check.Step("W1", _ =&gt; W1)</c>. Knowing every consumer of a tensor lets <see cref="Compare"/> give a local
    /// verdict: whether a failing row's own line is wrong or it only inherits a mistake from upstream. The function
    /// is evaluated again on detached inputs, so it must have no side effects.
    /// </summary>
    public Tensor Step(string name, StepFunction f)
    {
        if (f is null) throw new GradientCheckException($"Step(\"{name}\", …) was given null instead of a function.");
        return tape.Step(name, f);
    }

    public IReadOnlyCollection<string> Names => tape.Names;

    public Tensor this[string name] => tape[name];

    /// <summary>Autograd's backward from a scalar loss.</summary>
    public void Backward(Tensor loss) => loss.backward();

    /// <summary>
    /// Whether the checker replays the recorded steps in float64 itself to decide a float32 row that is not allclose
    /// when no <see cref="DecideInFloat64"/> rerun is given (default true). The replay holds a float64 value and
    /// gradient of every tracked tensor (<see cref="Float64ReplayBytes"/>); switch it off for a forward too large for that.
    /// </summary>
    public bool ReplayInFloat64
    {
        get => float64.ReplayEnabled;
        set => float64.ReplayEnabled = value;
    }

    /// <summary>The memory the float64 replay would hold: a float64 value and gradient per tracked element.</summary>
    public long Float64ReplayBytes => Float64Replay.Bytes(tape);

    /// <summary>
    /// Gives the checker a float64 rerun, used only when a float32 row is not exact, to tell float32 rounding (an
    /// ill-conditioned but right formula, or a true gradient of 0) from a mistake, even one that stays within allclose. <paramref name="run"/> receives
    /// a fresh check: in it, run the same forward in float64 (the same parameters and batch, converted) with the same
    /// <see cref="Track"/>/<see cref="Step"/> names, and return the float64 loss and your manual gradients recomputed in
    /// float64, by row label. The checker runs autograd's backward on it itself.
    /// </summary>
    public void DecideInFloat64(Func<GradientCheck, Float64Run> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        float64.Use(run);
    }

    /// <summary>
    /// Compares a manual gradient with the tracked tensor's autograd gradient and records the row with its verdict.
    /// Compare in backward order (upstream first): a failing row's origin is decided from the rows compared before it.
    /// </summary>
    /// <param name="label">How the row is labelled in the report; defaults to <paramref name="name"/>.</param>
    /// <param name="expectExact">False when the manual formula differs from autograd's by construction (judged approximate).</param>
    /// <param name="from">
    /// For a formula that spans several steps (a fused backward): the step whose gradient it starts from, e.g. a fused
    /// batchnorm backward of hprebn computed from dhpreact. Its local reference then goes through every step in between.
    /// </param>
    public GradientRow Compare(string name, Tensor manual, string? label = null, bool expectExact = true, string? from = null) =>
        engine.Judge(name, manual, label, expectExact, from);

    /// <summary>The rows so far, in the order they were compared.</summary>
    public IReadOnlyList<GradientRow> Rows => engine.Rows;

    /// <summary>
    /// One line over the rows, e.g. <c>8/8 exact · 1/1 approximate by construction · numeric 4/4 pass</c>, naming the
    /// mistakes and how many rows inherit them.
    /// </summary>
    public string Summary => PlainTable.Summary(Rows);

    /// <summary>The report: every row as a plain-text table (no colours), then <see cref="Summary"/>.</summary>
    public string ToText()
    {
        var rows = Rows;
        return rows.Count == 0 ? Summary + "\n" : PlainTable.Table(rows) + Summary + "\n";
    }

    /// <summary>
    /// Whether every row meets <paramref name="level"/> (rows that cannot be exact are judged approximate, and a
    /// failed finite-difference check fails its row); false when nothing was compared.
    /// </summary>
    public bool Passes(RequiredLevel level)
    {
        var rows = Rows;
        return rows.Count > 0 && rows.All(r => r.Meets(level));
    }

    /// <summary>
    /// Every compared gradient is bitwise equal to autograd's, except rows compared with <c>expectExact: false</c>,
    /// which must be allclose. Throws a <see cref="GradientAssertionException"/> listing the failing rows.
    /// </summary>
    public void AssertAllExact() => Assert(RequiredLevel.Exact);

    /// <summary>
    /// Every compared gradient passes: allclose to autograd's (rtol 1e-5, atol 1e-8, torch.allclose's defaults), or
    /// proved right in float64 (ill-conditioned in float32, rounding noise). Throws a
    /// <see cref="GradientAssertionException"/> listing the failing rows.
    /// </summary>
    public void AssertAllClose() => Assert(RequiredLevel.Approx);

    /// <summary>
    /// Every compared gradient meets <paramref name="level"/>, and every finite-difference check that was run
    /// passed. Throws a <see cref="GradientAssertionException"/> whose message is the table of the failing rows and
    /// a one-line summary; also when nothing was compared, so a forgotten <see cref="Compare"/> cannot pass.
    /// </summary>
    public void Assert(RequiredLevel level)
    {
        var rows = Rows;
        string what = level == RequiredLevel.Exact ? nameof(AssertAllExact) : nameof(AssertAllClose);
        if (rows.Count == 0)
            throw new GradientAssertionException(
                $"{what} failed: no manual gradient was compared; call Compare(name, manualGradient) after Backward(loss).",
                level, []);
        var failing = rows.Where(r => !r.Meets(level)).ToList();
        if (failing.Count == 0) return;

        string required = level == RequiredLevel.Exact
            ? "bitwise equal to autograd's" + (rows.Any(r => !r.ExpectExact) ? " (rows marked * allclose)" : "")
            : FormattableString.Invariant($"allclose to autograd's (rtol {Cmp.DefaultRtol:0e-0}, atol {Cmp.DefaultAtol:0e-0})") +
              (float64.HasRerun ? " and right in float64" : "");
        if (failing.Any(r => r.Numeric is { Passed: false })) required += " and passing the finite-difference check";
        throw new GradientAssertionException(
            $"{what} failed: {failing.Count} of {rows.Count} gradients {(failing.Count == 1 ? "is" : "are")} not {required}:\n" +
            PlainTable.Table(failing) + Summary,
            level, failing);
    }

    /// <summary>
    /// The third oracle: checks the manual gradients of <paramref name="inputs"/> (tracked leaves, already compared)
    /// against central finite differences of <paramref name="f"/>, and adds the verdict to their rows.
    /// </summary>
    /// <param name="f">The scalar loss as a function of the inputs, in the order given; it receives float64 copies.</param>
    public IReadOnlyList<NumericResult> CheckNumerically(
        IReadOnlyList<string> inputs, Func<IReadOnlyList<Tensor>, Tensor> f, FiniteDifferenceOptions? options = null)
    {
        var manual = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in inputs)
            manual[name] = engine.ManualGiven(name) ??
                throw new GradientCheckException($"'{name}' has no manual gradient yet: call Compare(\"{name}\", ...) first.");
        var results = FiniteDifference.Check(inputs.Select(n => (n, this[n])).ToList(), f, manual, options);
        foreach (var r in results) engine.Update(r.Name, row => row with { Numeric = r });
        return results;
    }
}

/// <summary>What a float64 rerun hands back: the float64 loss and the manual gradients recomputed in float64, by row label.</summary>
public sealed record Float64Run(Tensor Loss, IReadOnlyDictionary<string, Tensor> Manual)
{
    /// <summary>The rerun ran <c>Backward(loss)</c> itself (its manual backward needed autograd's float64 gradients).</summary>
    public bool BackwardDone { get; init; }
}
