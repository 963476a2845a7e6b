using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>
/// The verdict engine behind <see cref="GradientCheck"/>: compares a manual gradient with autograd's and decides
/// what the row means — exact, approximate, rounding noise, ill-conditioned in float32, inherited from upstream, or
/// wrong here with the mistake's signature — from the float32 comparison, the float64 side and the local reference.
/// Rows are judged in the order they are compared (backward order): a row's origins come from the rows before it.
/// </summary>
internal sealed class VerdictEngine(StepTape tape, Float64Decision float64)
{
    private readonly List<Judged> judged = [];

    /// <summary>A judged row, with the tensor it belongs to and the manual gradient it was given.</summary>
    internal sealed record Judged(string TensorName, GradientRow Row, Tensor Manual);

    public StepTape Tape => tape;

    public Float64Decision Float64 => float64;

    /// <summary>The rows so far, in the order they were judged.</summary>
    public IReadOnlyList<GradientRow> Rows => judged.Select(c => c.Row).ToList();

    public IReadOnlyList<Judged> Entries => judged;

    /// <summary>
    /// Compares <paramref name="manual"/> with the tracked tensor's autograd gradient, decides its verdict and records
    /// the row (see <see cref="GradientCheck.Compare"/> for the parameters).
    /// </summary>
    public GradientRow Judge(string name, Tensor manual, string? label = null, bool expectExact = true, string? from = null)
    {
        if (name is null) throw new GradientCheckException("Compare needs the name of a tracked tensor: got null.");
        if (manual is null) throw new GradientCheckException($"Compare(\"{name}\", …) was given null instead of a manual gradient.");
        if (manual.IsInvalid) throw new GradientCheckException($"Compare(\"{name}\", …) was given a disposed manual gradient.");
        string rowName = label ?? name;
        if (judged.Any(j => j.Row.Name == rowName))
            throw new GradientCheckException($"'{rowName}' is compared twice: each row is compared once (give another label to compare a second formula).");
        if (from is not null) _ = tape[from];
        var row = Cmp.Compare(rowName, manual, tape[name]) with { ExpectExact = expectExact };
        if (row.Verdict is Verdict.Wrong or Verdict.Approximate) row = Decide(name, row, manual, from);
        // A wrong shape computed from a wrong-shaped upstream gradient inherits it: the line may be right.
        else if (row.Verdict == Verdict.ShapeMismatch && UpstreamOrigins(name, from) is { Count: > 0 } origins)
            row = Inherited(row, origins, decidedLocally: true, null) with { Hint = row.Hint };
        // Without steps, a wrong shape below a failing row may come from it too.
        else if (row.Verdict == Verdict.ShapeMismatch && !tape.Upstream(name, from).Any() && EarlierOrigin() is { } earlier)
            row = Inherited(row, [earlier], decidedLocally: false, null) with { Hint = row.Hint };
        if (row.Verdict is Verdict.Approximate or Verdict.IllConditioned && from is null) row = row with { Rounding = Rounding(name, manual) };
        judged.Add(new Judged(name, row, manual));
        return row;
    }

    /// <summary>Replaces the row of <paramref name="tensorName"/> (e.g. to add a finite-difference verdict).</summary>
    public void Update(string tensorName, Func<GradientRow, GradientRow> change)
    {
        int i = judged.FindIndex(c => c.TensorName == tensorName);
        judged[i] = judged[i] with { Row = change(judged[i].Row) };
    }

    /// <summary>The manual gradient handed in for a tensor, or null when it has none yet.</summary>
    public Tensor? ManualGiven(string tensorName) => judged.FirstOrDefault(c => c.TensorName == tensorName)?.Manual;

    /// <summary>
    /// A row that is not exact: rounding noise, approximate, ill-conditioned in float32, inherited, or a mistake here —
    /// in that order of decision, in float64 wherever a rerun (or the row's own dtype) allows: allclose alone would
    /// let a formula that only drops an eps pass.
    /// </summary>
    private GradientRow Decide(string name, GradientRow row, Tensor manual, string? from)
    {
        var run = float64.Side(); // outside the scope below: its tensors live as long as the caller's
        var replay = manual.dtype == ScalarType.Float32 && !row.Approximate ? float64.Replay(tape) : null;
        using var scope = NewDisposeScope();
        var reference = tape[name].grad!;
        Tensor? m64 = null, a64 = null;
        StepTape? tape64 = null;
        Func<string, Tensor?> manualOf64 = UserManual;
        if (manual.dtype == ScalarType.Float64) (m64, a64, tape64) = (manual.detach(), reference.detach(), tape);
        else if (run is { } r && r.Manual.TryGetValue(row.Name, out var mm) && r.Tape.TryGet(name, out var t64) &&
                 t64.grad is { } g64 && mm.shape.SequenceEqual(g64.shape))
        {
            (m64, a64, tape64) = (mm.detach().to_type(ScalarType.Float64), g64.detach().to_type(ScalarType.Float64), r.Tape);
            manualOf64 = n => r.Manual.GetValueOrDefault(n);
        }
        // Without float64, allclose is all there is to go on.
        if (m64 is null && row.Approximate) return row;

        double upstream = (tape64 ?? tape).UpstreamScale(name);
        // The checker's own float64 replay: decides right, undecided or wrong; a wrong row is then located as below.
        // An undecided row may still only inherit a mistake from upstream: it is located as a wrong one, and stays
        // undecided (not WRONG) where it would be an origin.
        bool wrongInFloat64 = false;
        GradientRow? undecidedInFloat64 = null;
        string? notReplayed = null;
        if (m64 is null && replay is not null)
        {
            if (replay.Tape is { } t && t.TryGet(name, out var x64) && x64.grad is { } g && g.shape.SequenceEqual(manual.shape))
            {
                var decided = Float64Decision.Replayed(row, manual, reference, g, upstream);
                if (decided is { Verdict: not Verdict.Undecided }) return decided;
                (wrongInFloat64, undecidedInFloat64) = (true, decided);
            }
            else notReplayed = replay.Refusal ?? $"'{name}' is not a step's tensor in the float64 replay";
        }
        string Sci(double d) => NumberFormat.Diff(d);
        if (m64 is not null && a64 is not null &&
            Float64Decision.Proved(row, m64, a64, upstream, manual.dtype == ScalarType.Float64, manual.dtype == ScalarType.Float64 ? "float64" : "float64 rerun") is { } proved)
            return proved;

        var origins = UpstreamOrigins(name, from);
        if (tape.Upstream(name, from).Any(s => judged.FirstOrDefault(c => c.TensorName == s.Name)?.Row.ManualShape is not null))
            return Inherited(row, origins, decidedLocally: true,
                "its upstream gradient has another shape than its tensor, so this line cannot be judged on its own");
        // The local verdict, in float64 when there is a rerun.
        var local64 = m64 is not null ? LocalReferences.Of(tape64!, name, manualOf64, from) : null;
        var local = local64 is null ? LocalReferences.Of(tape, name, UserManual, from) : null;
        if (local64 is not null)
        {
            double d = MaxAbs(m64! - local64);
            if (d <= GradientCheck.Float64Tolerance * Math.Max(MaxAbs(local64), GradientCheck.NoiseTolerance * upstream))
                return Inherited(row, origins, decidedLocally: true, $"equal to its local reference in float64 (max diff {Sci(d)})");
            var hint = OriginHint(tape64!, name, m64!, local64, manualOf64, UpstreamPasses(name, from), from);
            return Origin(row, hint, origins);
        }
        if (local is not null)
        {
            if (manual.detach().to_type(local.dtype).allclose(local, Cmp.DefaultRtol, Cmp.DefaultAtol))
                return Inherited(row, origins, decidedLocally: true, "equal to its local reference");
            if (!wrongInFloat64 && Undecidable(manual, local, upstream) &&
                (!Decisive(MistakeHints.Diagnose(manual.detach(), local, tape.Sizes(name))) || PlausiblyZero(manual, local, upstream)))
                return Undecided(row, notReplayed) with { DecidedLocally = true };
            return undecidedInFloat64 ?? Origin(row, OriginHint(tape, name, manual.detach(), local, UserManual, UpstreamPasses(name, from), from), origins);
        }

        // No steps for this tensor: only the order tells. The first row that fails or cannot be decided is the likely
        // origin; a later row may only inherit it, never be named an origin of its own.
        if (EarlierOrigin() is { } earlier) return Inherited(row, [earlier], decidedLocally: false, null);
        if (undecidedInFloat64 is not null) return undecidedInFloat64 with { DecidedLocally = false };
        var h = m64 is not null ? MistakeHints.Diagnose(m64, a64!, tape.Sizes(name)) : MistakeHints.Diagnose(manual.detach(), reference, tape.Sizes(name));
        if (m64 is null && !wrongInFloat64 && Undecidable(manual, reference, upstream, ownScaleToo: true))
        {
            if (!Decisive(h) || PlausiblyZero(manual, reference, upstream)) return Undecided(row, notReplayed);
        }
        return row with { Verdict = Verdict.Wrong, Hint = h?.Text, Cause = h?.Cause };
    }

    /// <summary>The first row judged so far that fails or cannot be decided (or the origin it inherits), or null.</summary>
    private string? EarlierOrigin() => judged.Select(c => c.Row).FirstOrDefault(r => !r.Passed) switch
    {
        { Verdict: Verdict.Inherits } r => r.InheritsFrom.FirstOrDefault(),
        { } r => r.Name,
        null => null,
    };

    /// <summary>
    /// A signature that float32 rounding does not produce: a constant factor, a sign, a transpose, values in the wrong
    /// places. (The whole-tensor "missing path" rules are not: at batch 2 rounding noise can be the same along a dim.)
    /// A true gradient of 0 is all rounding, and rounding can fit any signature there: see <see cref="PlausiblyZero"/>.
    /// </summary>
    private static bool Decisive(MistakeHint? h) => h is not null && h.Cause != "a missing path";

    /// <summary>Both gradients within <see cref="GradientCheck.Float32NoiseFraction"/> of the upstream scale: a true gradient of 0 in float32 could look like this.</summary>
    private static bool PlausiblyZero(Tensor manual, Tensor reference, double upstream) =>
        Math.Max(MaxAbs(manual.detach()), MaxAbs(reference.detach())) <= GradientCheck.Float32NoiseFraction * upstream;

    private static GradientRow Origin(GradientRow row, MistakeHint hint, IReadOnlyList<string> origins) =>
        row with { Verdict = Verdict.Wrong, DecidedLocally = true, Hint = hint.Text, Cause = hint.Cause, InheritsFrom = origins };

    internal static GradientRow Passing(GradientRow row, Verdict v, string evidence) => row with { Verdict = v, Evidence = evidence, Hint = null, Cause = null };

    private static GradientRow Inherited(GradientRow row, IReadOnlyList<string> origins, bool decidedLocally, string? evidence) =>
        row with { Verdict = Verdict.Inherits, InheritsFrom = origins, DecidedLocally = decidedLocally, Hint = null, Cause = null, Evidence = evidence };

    private static GradientRow Undecided(GradientRow row, string? notReplayed = null) => row with
    {
        Verdict = Verdict.Undecided, Hint = null, Cause = null,
        Evidence = "not allclose in float32, but within 1e-3 of the gradients' scale: float32 rounding of an ill-conditioned formula " +
                   "could do that; give the check a float64 rerun (DecideInFloat64) to decide" +
                   (notReplayed is null ? "" : $" (the checker's own float64 replay could not: {notReplayed})"),
    };

    /// <param name="ownScaleToo">
    /// Also require the difference to be within <see cref="GradientCheck.UndecidableOwnFraction"/> of the row's own
    /// scale, unless the row could be a true 0: without steps the row's terms are unknown, and a right float32 formula
    /// of this size whose error is a tenth of its own values would need a cancellation no lecture-sized model has.
    /// </param>
    private static bool Undecidable(Tensor manual, Tensor reference, double upstream, bool ownScaleToo = false)
    {
        using var scope = NewDisposeScope();
        var m = manual.detach().to_type(ScalarType.Float64);
        var r = reference.detach().to_type(ScalarType.Float64);
        double own = Math.Max(MaxAbs(m), MaxAbs(r));
        double d = MaxAbs(m - r);
        if (!double.IsFinite(d) || d > GradientCheck.UndecidableFraction * Math.Max(own, upstream)) return false;
        return !ownScaleToo || d <= GradientCheck.UndecidableOwnFraction * own || own <= GradientCheck.Float32NoiseFraction * upstream;
    }

    internal static double MaxAbs(Tensor t) => t.numel() == 0 ? 0 : t.abs().max().to_type(ScalarType.Float64).item<double>();

    /// <summary>Which op rounds differently on a right row; null when it cannot be told (the verdict stands either way).</summary>
    private string? Rounding(string name, Tensor manual)
    {
        try
        {
            return RoundingForms.Explain(tape, name, manual, UserManual, RowOf);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return null;
        }
    }

    private GradientRow? RowOf(string tensorName) => judged.FirstOrDefault(c => c.TensorName == tensorName)?.Row;

    /// <summary>The user's manual gradient of a tensor, when compared (and comparable), else null.</summary>
    private Tensor? UserManual(string name) =>
        judged.FirstOrDefault(c => c.TensorName == name && c.Row.Verdict is not (Verdict.ShapeMismatch or Verdict.DtypeMismatch))?.Manual;

    /// <summary>
    /// The mistakes a tensor's upstream rows carry: a failing row's own name if it is wrong there, and what it
    /// inherits; through a row that passes without being exact (a mistake can hide under allclose), what it carries.
    /// </summary>
    private List<string> UpstreamOrigins(string name, string? from)
    {
        var origins = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        Collect(tape.Upstream(name, from));
        // In backward order, as the rows.
        return origins.Distinct().OrderBy(o => judged.FindIndex(c => c.Row.Name == o)).ToList();

        void Collect(IEnumerable<StepTape.StepRecord> ups)
        {
            foreach (var s in ups)
            {
                if (!seen.Add(s.Name)) continue;
                var up = judged.FirstOrDefault(c => c.TensorName == s.Name)?.Row;
                if (up is null || up.Exact) continue;
                if (up.Passed) { Collect(tape.Consumers(s.Name)); continue; }
                if (up.Verdict != Verdict.Inherits) origins.Add(up.Name);
                origins.AddRange(up.InheritsFrom);
            }
        }
    }

    private bool UpstreamPasses(string name, string? from) =>
        tape.Upstream(name, from).All(s => judged.FirstOrDefault(c => c.TensorName == s.Name)?.Row.Passed ?? true);

    /// <summary>
    /// The hint the check gives a wrong line fed autograd's own upstream gradients (the workbook's "on its own"
    /// grade): the mistake's signature against the line's local reference, with every consumer's share and, for an
    /// indexing step, how often each element was read; null when the tensor has no recorded consumer.
    /// </summary>
    public MistakeHint? LocalHint(string name, Tensor manual, string? from = null)
    {
        using var scope = NewDisposeScope();
        if (LocalReferences.Of(tape, name, _ => null, from) is not { } local || !local.shape.SequenceEqual(manual.shape)) return null;
        return OriginHint(tape, name, manual.detach().to_type(local.dtype), local, _ => null, upstreamRight: true, from);
    }

    /// <summary>The mistake's signature at an origin row, against its local reference (in float64 when available).</summary>
    private static MistakeHint OriginHint(StepTape on, string name, Tensor manual, Tensor local, Func<string, Tensor?> manualOf, bool upstreamRight, string? from)
    {
        var consumers = on.Upstream(name, from).ToList();
        var shares = from is null ? LocalReferences.Shares(on, name, manualOf, split: true) : [];
        var uses = from is null ? LocalReferences.Shares(on, name, n => ones_like(on[n]), split: false)![0].Share : null;
        var hint = MistakeHints.Diagnose(manual, local, on.Sizes(name), shares, uses);
        if (hint is not null) return hint;
        // One consuming product of two steps: a manual gradient that is the product with an operand not transposed.
        if (consumers is [{ Inputs: [var a, var b] } product] && (a == name) != (b == name))
        {
            var dout = manualOf(product.Name) ?? on[product.Name].grad;
            if (dout is not null && MistakeHints.ForProduct(manual, local, on[a == name ? b : a].detach(), dout.detach(), name, a == name ? b : a, product.Name) is { } transposed)
                return transposed;
        }
        string stepText = string.Join(" and ", consumers.Select(s => $"{s.Name} (from {string.Join(", ", s.Inputs)})"));
        string received = string.Join(", ", consumers.Select(s => "d" + s.Name));
        return new MistakeHint("a wrong local derivative",
            $"hint: the local derivative of {stepText} is wrong: " +
            (upstreamRight ? $"{received}, which it receives, {(consumers.Count == 1 ? "is" : "are")} right" : $"given {received} as you computed {(consumers.Count == 1 ? "it" : "them")}") +
            $", d{name} is not the vector-Jacobian product of that step; no known mistake signature fits.");
    }
}
