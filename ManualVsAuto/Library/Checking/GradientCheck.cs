using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// The reusable mechanism behind every report: register the forward steps you want checked by name
/// (<see cref="Track"/> keeps their gradients; <see cref="Step"/> also records the step's inputs, for local verdicts),
/// run <see cref="Backward"/>, then hand in your manual gradients by name with <see cref="Compare"/>, in backward
/// order. <see cref="ToText"/> is the report; <see cref="AssertAllExact"/> and <see cref="AssertAllClose"/> throw a
/// <see cref="GradientAssertionException"/> whose message is the table of the failing rows.
/// </summary>
public sealed class GradientCheck : IStepRecorder
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

    private readonly Dictionary<string, Tensor> tracked = new(StringComparer.Ordinal);
    private readonly List<StepRecord> steps = [];
    private readonly List<ComparedRow> compared = [];
    private Func<GradientCheck, Float64Run>? rerun;
    private (GradientCheck Check, IReadOnlyDictionary<string, Tensor> Manual)? float64;
    private bool rerunDone;

    private sealed record StepRecord(string Name, IReadOnlyList<string> Inputs, StepFunction F);

    private sealed record ComparedRow(string TensorName, GradientRow Row, Tensor Manual);

    /// <summary>Registers <paramref name="t"/> under <paramref name="name"/>, keeping its gradient, and returns it.</summary>
    public Tensor Track(string name, Tensor t)
    {
        if (!t.requires_grad)
            throw new GradientCheckException($"'{name}' does not require a gradient: it is not on an autograd path.");
        if (!t.is_leaf) t.retain_grad();
        if (!tracked.TryAdd(name, t)) throw new GradientCheckException($"'{name}' is tracked twice.");
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
        ArgumentNullException.ThrowIfNull(f);
        var inputs = new List<string>();
        var t = f(n =>
        {
            var x = this[n];
            if (!inputs.Contains(n)) inputs.Add(n);
            return x;
        });
        Track(name, t);
        steps.Add(new StepRecord(name, inputs, f));
        return t;
    }

    public IReadOnlyCollection<string> Names => tracked.Keys;

    public Tensor this[string name] => tracked.TryGetValue(name, out var t)
        ? t
        : throw new GradientCheckException($"'{name}' was never tracked; tracked are: {string.Join(", ", tracked.Keys)}.");

    /// <summary>Autograd's backward from a scalar loss.</summary>
    public void Backward(Tensor loss) => loss.backward();

    /// <summary>
    /// Gives the checker a float64 rerun, used only when a float32 row is not exact, to tell float32 rounding (an
    /// ill-conditioned but right formula, or a true gradient of 0) from a mistake, even one that stays within allclose. <paramref name="run"/> receives
    /// a fresh check: in it, run the same forward in float64 (the same parameters and batch, converted) with the same
    /// <see cref="Track"/>/<see cref="Step"/> names, and return the float64 loss and your manual gradients recomputed in
    /// float64, by row label. The checker runs autograd's backward on it itself.
    /// </summary>
    public void DecideInFloat64(Func<GradientCheck, Float64Run> run)
    {
        rerun = run ?? throw new ArgumentNullException(nameof(run));
        rerunDone = false;
        float64 = null;
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
    public GradientRow Compare(string name, Tensor manual, string? label = null, bool expectExact = true, string? from = null)
    {
        if (from is not null) _ = this[from];
        var row = Cmp.Compare(label ?? name, manual, this[name]) with { ExpectExact = expectExact };
        if (row.Verdict is Verdict.Wrong or Verdict.Approximate) row = Decide(name, row, manual, from);
        // A wrong shape computed from a wrong-shaped upstream gradient inherits it: the line may be right.
        else if (row.Verdict == Verdict.ShapeMismatch && UpstreamOrigins(name, from) is { Count: > 0 } origins)
            row = Inherited(row, origins, decidedLocally: true, null) with { Hint = row.Hint };
        compared.Add(new ComparedRow(name, row, manual));
        return row;
    }

    /// <summary>The rows so far, in the order they were compared.</summary>
    public IReadOnlyList<GradientRow> Rows => compared.Select(c => c.Row).ToList();

    /// <summary>
    /// One line over the rows, e.g. <c>8/8 exact · 1/1 approximate by construction · numeric 4/4 pass</c>, naming the
    /// mistakes and how many rows inherit them.
    /// </summary>
    public string Summary => RowsText.Summary(Rows);

    /// <summary>The report: every row as a plain-text table (no colours), then <see cref="Summary"/>.</summary>
    public string ToText()
    {
        var rows = Rows;
        return rows.Count == 0 ? Summary + "\n" : RowsText.Table(rows) + Summary + "\n";
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
              (rerun is not null ? " and right in float64" : "");
        if (failing.Any(r => r.Numeric is { Passed: false })) required += " and passing the finite-difference check";
        throw new GradientAssertionException(
            $"{what} failed: {failing.Count} of {rows.Count} gradients {(failing.Count == 1 ? "is" : "are")} not {required}:\n" +
            RowsText.Table(failing) + Summary,
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
        {
            int i = compared.FindIndex(c => c.TensorName == name);
            if (i < 0) throw new GradientCheckException($"'{name}' has no manual gradient yet: call Compare(\"{name}\", ...) first.");
            manual[name] = compared[i].Manual;
        }
        var results = FiniteDifference.Check(inputs.Select(n => (n, this[n])).ToList(), f, manual, options);
        foreach (var r in results)
        {
            int i = compared.FindIndex(c => c.TensorName == r.Name);
            compared[i] = compared[i] with { Row = compared[i].Row with { Numeric = r } };
        }
        return results;
    }

    /// <summary>
    /// A row that is not exact: rounding noise, approximate, ill-conditioned in float32, inherited, or a mistake here —
    /// in that order of decision, in float64 wherever a rerun (or the row's own dtype) allows: allclose alone would
    /// let a formula that only drops an eps pass.
    /// </summary>
    private GradientRow Decide(string name, GradientRow row, Tensor manual, string? from)
    {
        var run = Float64(); // outside the scope below: its tensors live as long as the caller's
        using var scope = NewDisposeScope();
        var reference = this[name].grad!;
        Tensor? m64 = null, a64 = null;
        GradientCheck? check64 = null;
        Func<string, Tensor?> manualOf64 = UserManual;
        if (manual.dtype == ScalarType.Float64) (m64, a64, check64) = (manual.detach(), reference.detach(), this);
        else if (run is { } r && r.Manual.TryGetValue(row.Name, out var mm) && r.Check.tracked.TryGetValue(name, out var t64) &&
                 t64.grad is { } g64 && mm.shape.SequenceEqual(g64.shape))
        {
            (m64, a64, check64) = (mm.detach().to_type(ScalarType.Float64), g64.detach().to_type(ScalarType.Float64), r.Check);
            manualOf64 = n => r.Manual.GetValueOrDefault(n);
        }
        // Without float64, allclose is all there is to go on.
        if (m64 is null && row.Approximate) return row;

        double upstream = (check64 ?? this).UpstreamScale(name);
        string Sci(double d) => Numbers.Diff(d);
        if (m64 is not null && a64 is not null &&
            ProvedInFloat64(row, m64, a64, upstream, manual.dtype == ScalarType.Float64, manual.dtype == ScalarType.Float64 ? "float64" : "float64 rerun") is { } proved)
            return proved;

        var origins = UpstreamOrigins(name, from);
        if (Upstream(name, from).Any(s => compared.FirstOrDefault(c => c.TensorName == s.Name)?.Row.ManualShape is not null))
            return Inherited(row, origins, decidedLocally: true,
                "its upstream gradient has another shape than its tensor, so this line cannot be judged on its own");
        // The local verdict, in float64 when there is a rerun.
        var local64 = m64 is not null ? check64!.LocalReference(name, manualOf64, from) : null;
        var local = local64 is null ? LocalReference(name, UserManual, from) : null;
        if (local64 is not null)
        {
            double d = MaxAbs(m64! - local64);
            if (d <= Float64Tolerance * Math.Max(MaxAbs(local64), NoiseTolerance * upstream))
                return Inherited(row, origins, decidedLocally: true, $"equal to its local reference in float64 (max diff {Sci(d)})");
            var hint = check64!.OriginHint(name, m64!, local64, manualOf64, UpstreamPasses(name, from), from);
            return Origin(row, hint, origins);
        }
        if (local is not null)
        {
            if (manual.detach().to_type(local.dtype).allclose(local, Cmp.DefaultRtol, Cmp.DefaultAtol))
                return Inherited(row, origins, decidedLocally: true, "equal to its local reference");
            if (Undecidable(manual, local, upstream)) return Undecided(row);
            return Origin(row, OriginHint(name, manual.detach(), local, UserManual, UpstreamPasses(name, from), from), origins);
        }

        // No steps for this tensor: only the order tells. The first failing row is the likely origin.
        if (m64 is null && Undecidable(manual, reference, upstream)) return Undecided(row);
        var earlier = compared.Where(c => c.Row.Verdict is Verdict.Wrong or Verdict.ShapeMismatch or Verdict.DtypeMismatch).Select(c => c.Row.Name)
            .Concat(compared.Where(c => c.Row.Verdict == Verdict.Inherits).SelectMany(c => c.Row.InheritsFrom))
            .Distinct().ToList();
        if (earlier.Count > 0) return Inherited(row, earlier.Take(1).ToList(), decidedLocally: false, null);
        var h = m64 is not null ? MistakeHints.Diagnose(m64, a64!, Sizes(name)) : MistakeHints.Diagnose(manual.detach(), reference, Sizes(name));
        return row with { Verdict = Verdict.Wrong, Hint = h?.Text, Cause = h?.Cause };
    }

    /// <summary>
    /// A row that float64 proves right — rounding noise (a true gradient of 0) or within <see cref="Float64Tolerance"/>
    /// of autograd's float64 gradient: approximate if it was allclose (or is float64 itself), else ill-conditioned in
    /// float32 — or null when float64 does not prove it.
    /// </summary>
    /// <param name="upstream">The largest upstream gradient (<see cref="UpstreamScale"/>), the scale of rounding noise.</param>
    /// <param name="rowIsFloat64">The row itself was compared in float64 (no float32 rounding to excuse).</param>
    /// <param name="where">Where the float64 figures come from, for the evidence, e.g. "float64 rerun".</param>
    internal static GradientRow? ProvedInFloat64(GradientRow row, Tensor m64, Tensor a64, double upstream, bool rowIsFloat64, string where)
    {
        using var scope = NewDisposeScope();
        double a = MaxAbs(a64), m = MaxAbs(m64), d = MaxAbs(m64 - a64);
        string Sci(double x) => Numbers.Diff(x);
        if (a <= NoiseTolerance * upstream && m <= NoiseTolerance * upstream)
            return Passing(row, Verdict.RoundingNoise,
                $"{where}: max|autograd| {Sci(a)} and max|manual| {Sci(m)}, both ≤ 1e-10 × the upstream gradient's {Sci(upstream)}");
        if (d <= Float64Tolerance * a)
            return Passing(row, row.Approximate || rowIsFloat64 ? Verdict.Approximate : Verdict.IllConditioned,
                $"{where}: max|manual − autograd| {Sci(d)} ≤ 1e-9 × max|autograd| {Sci(a)}");
        return null;
    }

    private static GradientRow Origin(GradientRow row, MistakeHint hint, IReadOnlyList<string> origins) =>
        row with { Verdict = Verdict.Wrong, DecidedLocally = true, Hint = hint.Text, Cause = hint.Cause, InheritsFrom = origins };

    private static GradientRow Passing(GradientRow row, Verdict v, string evidence) => row with { Verdict = v, Evidence = evidence, Hint = null, Cause = null };

    private static GradientRow Inherited(GradientRow row, IReadOnlyList<string> origins, bool decidedLocally, string? evidence) =>
        row with { Verdict = Verdict.Inherits, InheritsFrom = origins, DecidedLocally = decidedLocally, Hint = null, Cause = null, Evidence = evidence };

    private static GradientRow Undecided(GradientRow row) => row with
    {
        Verdict = Verdict.Undecided, Hint = null, Cause = null,
        Evidence = "not allclose in float32, but within 1e-3 of the gradients' scale: float32 rounding of an ill-conditioned formula " +
                   "could do that; give the check a float64 rerun (DecideInFloat64) to decide",
    };

    private static bool Undecidable(Tensor manual, Tensor reference, double upstream)
    {
        using var scope = NewDisposeScope();
        var m = manual.detach().to_type(ScalarType.Float64);
        var r = reference.detach().to_type(ScalarType.Float64);
        double scale = Math.Max(Math.Max(MaxAbs(m), MaxAbs(r)), upstream);
        double d = MaxAbs(m - r);
        return double.IsFinite(d) && d <= UndecidableFraction * scale;
    }

    private static double MaxAbs(Tensor t) => t.numel() == 0 ? 0 : t.abs().max().to_type(ScalarType.Float64).item<double>();

    /// <summary>The float64 rerun, made once, when first needed.</summary>
    private (GradientCheck Check, IReadOnlyDictionary<string, Tensor> Manual)? Float64()
    {
        if (rerunDone || rerun is null) return float64;
        rerunDone = true;
        var c = new GradientCheck();
        var r = rerun(c);
        if (r.Loss.dtype != ScalarType.Float64)
            throw new GradientCheckException($"the float64 rerun returned a {r.Loss.dtype} loss: convert the parameters and the batch to float64.");
        c.Backward(r.Loss);
        float64 = (c, r.Manual);
        return float64;
    }

    /// <summary>The user's manual gradient of a tensor, when compared (and comparable), else null.</summary>
    private Tensor? UserManual(string name) =>
        compared.FirstOrDefault(c => c.TensorName == name && c.Row.Verdict is not (Verdict.ShapeMismatch or Verdict.DtypeMismatch))?.Manual;

    private IEnumerable<StepRecord> Consumers(string name) => steps.Where(s => s.Inputs.Contains(name));

    /// <summary>
    /// The mistakes a tensor's upstream rows carry: a failing row's own name if it is wrong there, and what it
    /// inherits; through a row that passes without being exact (a mistake can hide under allclose), what it carries.
    /// </summary>
    private List<string> UpstreamOrigins(string name, string? from)
    {
        var origins = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Collect(Upstream(name, from));
        // In backward order, as the rows.
        return origins.Distinct().OrderBy(o => compared.FindIndex(c => c.Row.Name == o)).ToList();

        void Collect(IEnumerable<StepRecord> ups)
        {
            foreach (var s in ups)
            {
                if (!seen.Add(s.Name)) continue;
                var up = compared.FirstOrDefault(c => c.TensorName == s.Name)?.Row;
                if (up is null || up.Exact) continue;
                if (up.Passed) { Collect(Consumers(s.Name)); continue; }
                if (up.Verdict != Verdict.Inherits) origins.Add(up.Name);
                origins.AddRange(up.InheritsFrom);
            }
        }
    }

    /// <summary>The steps whose gradients a row's line receives: the tensor's consumers, or the one it starts <paramref name="from"/>.</summary>
    private IEnumerable<StepRecord> Upstream(string name, string? from) =>
        from is null ? Consumers(name) : steps.Where(s => s.Name == from);

    private bool UpstreamPasses(string name, string? from) =>
        Upstream(name, from).All(s => compared.FirstOrDefault(c => c.TensorName == s.Name)?.Row.Passed ?? true);

    /// <summary>
    /// The largest gradient flowing into the tensor's consumers (autograd's), or over every tracked tensor when its
    /// consumers are unknown: the scale against which a gradient counts as rounding noise.
    /// </summary>
    internal double UpstreamScale(string name)
    {
        using var scope = NewDisposeScope();
        var outputs = Consumers(name).Select(s => s.Name).ToList();
        var names = outputs.Count > 0 ? outputs : tracked.Keys.Where(n => n != name).ToList();
        double max = 0;
        foreach (var n in names)
            if (tracked[n].grad is { } g) max = Math.Max(max, MaxAbs(g));
        return max;
    }

    /// <summary>
    /// The local reference of a tensor's gradient: the vector-Jacobian product of every step that consumes it,
    /// re-evaluated on detached inputs (so only those steps' local derivatives count), with <paramref name="manualOf"/>'s
    /// gradients of their outputs as grad_outputs (autograd's where it gives none), all in one autograd.grad call so
    /// the contributions add up in autograd's order. Null when no recorded step consumes the tensor.
    /// </summary>
    internal Tensor? LocalReference(string name, Func<string, Tensor?> manualOf, string? from = null) =>
        from is null ? LocalShares(name, manualOf, split: false)?[0].Share : LocalSpan(name, from, manualOf);

    /// <summary>
    /// The local reference of a formula that spans the steps from <paramref name="name"/> to <paramref name="from"/>:
    /// every step in between re-evaluated from a detached copy of the tensor, with the user's gradient of
    /// <paramref name="from"/> as grad_output.
    /// </summary>
    private Tensor? LocalSpan(string name, string from, Func<string, Tensor?> manualOf)
    {
        using var grad = enable_grad();
        var x = this[name].detach().requires_grad_(true);
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal) { [name] = x };
        foreach (var s in steps)
        {
            if (!s.Inputs.Any(values.ContainsKey) || values.ContainsKey(s.Name)) continue;
            values[s.Name] = s.F(n => values.TryGetValue(n, out var v) ? v : this[n].detach());
            if (s.Name == from) break;
        }
        if (!values.TryGetValue(from, out var output) || from == name) return null;
        var g = (manualOf(from) ?? this[from].grad ?? zeros_like(output)).detach().to_type(output.dtype);
        return TorchSharp.torch.autograd.grad([output], [x], [g], allow_unused: true)[0] is { } r && !r.IsInvalid ? r : zeros_like(x);
    }

    /// <summary>The local reference, or (split) each consumer's share of it, by step name.</summary>
    private List<(string Step, Tensor Share)>? LocalShares(string name, Func<string, Tensor?> manualOf, bool split)
    {
        var consumers = Consumers(name).ToList();
        if (consumers.Count == 0) return null;
        using var grad = enable_grad();
        var x = this[name].detach().requires_grad_(true);
        Tensor Input(string n) => n == name ? x : this[n].detach();
        var outputs = consumers.Select(s => s.F(Input)).ToList();
        var gradOutputs = consumers.Select((s, i) =>
        {
            var g = manualOf(s.Name) ?? this[s.Name].grad ?? zeros_like(outputs[i]);
            return g.detach().to_type(outputs[i].dtype);
        }).ToList();
        Tensor Vjp(IList<Tensor> o, IList<Tensor> g) =>
            TorchSharp.torch.autograd.grad(o, [x], g, retain_graph: split, allow_unused: true)[0] is { } r && !r.IsInvalid ? r : zeros_like(x);
        if (!split) return [("", Vjp(outputs, gradOutputs))];
        return consumers.Select((s, i) => (s.Name, Vjp([outputs[i]], [gradOutputs[i]]))).ToList();
    }

    /// <summary>The mistake's signature at an origin row, against its local reference (in float64 when available).</summary>
    private MistakeHint OriginHint(string name, Tensor manual, Tensor local, Func<string, Tensor?> manualOf, bool upstreamRight, string? from)
    {
        var consumers = Upstream(name, from).ToList();
        var shares = from is null ? LocalShares(name, manualOf, split: true) : [];
        var uses = from is null ? LocalShares(name, n => ones_like(this[n]), split: false)![0].Share : null;
        var hint = MistakeHints.Diagnose(manual, local, Sizes(name), shares, uses);
        if (hint is not null) return hint;
        string stepText = string.Join(" and ", consumers.Select(s => $"{s.Name} (from {string.Join(", ", s.Inputs)})"));
        string received = string.Join(", ", consumers.Select(s => "d" + s.Name));
        return new MistakeHint("a wrong local derivative",
            $"hint: the local derivative of {stepText} is wrong: " +
            (upstreamRight ? $"{received}, which it receives, {(consumers.Count == 1 ? "is" : "are")} right" : $"given {received} as you computed {(consumers.Count == 1 ? "it" : "them")}") +
            $", d{name} is not the vector-Jacobian product of that step; no known mistake signature fits.");
    }

    /// <summary>Sizes that a factor n could be: the dimensions of the tensor and of every step around it.</summary>
    private IReadOnlyCollection<long> Sizes(string name)
    {
        var sizes = new HashSet<long>(this[name].shape);
        foreach (var s in Consumers(name))
            foreach (var n in s.Inputs.Append(s.Name))
                sizes.UnionWith(this[n].shape);
        return sizes;
    }
}

/// <summary>What a float64 rerun hands back: the float64 loss and the manual gradients recomputed in float64, by row label.</summary>
public sealed record Float64Run(Tensor Loss, IReadOnlyDictionary<string, Tensor> Manual);
