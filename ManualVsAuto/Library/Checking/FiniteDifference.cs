using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>How <see cref="FiniteDifference"/> probes a gradient.</summary>
public enum FiniteDifferenceMode
{
    /// <summary>
    /// Element by element: for each checked element i, (f(x + eps·e_i) − f(x − eps·e_i)) / 2eps against the manual
    /// gradient's element i. Two forward passes per element. Every element of an input with up to
    /// <see cref="FiniteDifferenceOptions.MaxElementsPerInput"/> elements (100,000 by default), so a single wrong
    /// element is always caught; a larger input gets a deterministic sample of that many.
    /// </summary>
    Full,

    /// <summary>
    /// Random projections, as PyTorch's <c>gradcheck(fast_mode=True)</c>: for each random unit direction v,
    /// (f(x + eps·v) − f(x − eps·v)) / 2eps against vᵀ·manual. Touches every element; two forward passes per direction.
    /// It catches a gradient that is wrong throughout (a factor, a sign, a missing term), but a single wrong element
    /// is diluted by the projection (its error is weighted by one coordinate of v, about 1/√n): catching that is
    /// <see cref="Full"/> mode's job.
    /// </summary>
    Fast,
}

/// <summary>Settings of a finite-difference check; the defaults are <c>torch.autograd.gradcheck</c>'s.</summary>
public sealed record FiniteDifferenceOptions
{
    /// <summary>gradcheck's default step.</summary>
    public const double DefaultEps = 1e-6;

    /// <summary>gradcheck's default absolute tolerance.</summary>
    public const double DefaultAtol = 1e-5;

    /// <summary>gradcheck's default relative tolerance.</summary>
    public const double DefaultRtol = 1e-3;

    public FiniteDifferenceMode Mode { get; init; } = FiniteDifferenceMode.Full;

    /// <summary>Half the central-difference step, applied in float64. Default 1e-6 (gradcheck's).</summary>
    public double Eps { get; init; } = DefaultEps;

    /// <summary>
    /// Absolute tolerance of the pass rule |manual − numeric| ≤ <see cref="Atol"/> + <see cref="Rtol"/>·|numeric|.
    /// Default 1e-5 (gradcheck's). The absolute term is what lets a true gradient of zero pass; a bare relative
    /// error would be undefined there.
    /// </summary>
    public double Atol { get; init; } = DefaultAtol;

    /// <summary>Relative tolerance of the same rule, scaled by |numeric|. Default 1e-3 (gradcheck's).</summary>
    public double Rtol { get; init; } = DefaultRtol;

    /// <summary>Full mode: every element of an input with up to this many (the default).</summary>
    public const int DefaultMaxElementsPerInput = 100_000;

    /// <summary>Full mode: elements checked per input; all of them when the input has no more than this, else a sample.</summary>
    public int MaxElementsPerInput { get; init; } = DefaultMaxElementsPerInput;

    /// <summary>Called after each element (full mode) or direction (fast mode): the input's name, how many are done, of how many.</summary>
    public Action<string, long, long>? Progress { get; init; }

    /// <summary>Fast mode: random unit directions per input.</summary>
    public int Directions { get; init; } = 4;

    /// <summary>
    /// Seeds the element sample (full mode) and the directions (fast mode). Each input gets its own generator,
    /// seeded from this and a stable hash of its name, so one input's draws do not depend on the others.
    /// </summary>
    public ulong Seed { get; init; } = 0;

    /// <summary>
    /// Full mode: an element that fails where f has a kink between x − eps and x + eps (a relu, abs, max or threshold
    /// that flips there) is excused, not failed, when the manual value lies between the two one-sided slopes
    /// (f(x) − f(x − eps))/eps and (f(x + eps) − f(x))/eps: the central difference averages two different slopes there,
    /// so it is unreliable, and any value between them is a valid subgradient. Costs one more evaluation of f per input.
    /// Off by default (gradcheck has no such rule); <see cref="FunctionCheck"/> turns it on.
    /// </summary>
    public bool ExcuseKinks { get; init; }

    /// <summary>
    /// With <see cref="ExcuseKinks"/>: the largest share of an input's checked elements that may be excused. Beyond it
    /// the input fails (a forward that is noisy or steps everywhere would otherwise excuse itself). Default 0.1.
    /// </summary>
    public double MaxExcusedShare { get; init; } = 0.1;

    internal void Validate()
    {
        if (!(Eps > 0) || double.IsInfinity(Eps)) throw new ArgumentOutOfRangeException(nameof(Eps), Eps, "must be a positive finite step");
        if (!(Atol >= 0)) throw new ArgumentOutOfRangeException(nameof(Atol), Atol, "must be ≥ 0");
        if (!(Rtol >= 0)) throw new ArgumentOutOfRangeException(nameof(Rtol), Rtol, "must be ≥ 0");
        if (MaxElementsPerInput < 1) throw new ArgumentOutOfRangeException(nameof(MaxElementsPerInput), MaxElementsPerInput, "must be ≥ 1");
        if (Directions < 1) throw new ArgumentOutOfRangeException(nameof(Directions), Directions, "must be ≥ 1");
        if (!(MaxExcusedShare >= 0 && MaxExcusedShare <= 1))
            throw new ArgumentOutOfRangeException(nameof(MaxExcusedShare), MaxExcusedShare, "must be between 0 and 1");
    }
}

/// <summary>
/// One input's finite-difference verdict. "Worst" is the checked element (full mode) or direction (fast mode)
/// that comes closest to failing, or fails by most: the largest |manual − numeric| / (atol + rtol·|numeric|).
/// </summary>
/// <param name="Name">The input's name.</param>
/// <param name="Mode">Full (elements) or Fast (random directions).</param>
/// <param name="Passed">Every checked element/direction satisfies |manual − numeric| ≤ atol + rtol·|numeric|.</param>
/// <param name="WorstAbsDiff">|manual − numeric| at the worst element/direction.</param>
/// <param name="WorstRatio">|manual − numeric| / (atol + rtol·|numeric|) there: ≤ 1 passes.</param>
/// <param name="MaxAbsDiff">The largest |manual − numeric| over everything checked.</param>
/// <param name="WorstIndex">Full mode: the worst element's index into the input; null in fast mode.</param>
/// <param name="WorstDirection">Fast mode: the worst direction's number (0-based); null in full mode.</param>
/// <param name="NumericAtWorst">The central difference there (fast mode: the directional derivative).</param>
/// <param name="ManualAtWorst">The manual gradient there (fast mode: vᵀ·manual).</param>
/// <param name="Checked">Elements checked (full mode) or directions (fast mode).</param>
/// <param name="Shape">The input's shape.</param>
/// <param name="ConvertedToFloat64">The input was not float64 and was checked on a float64 copy.</param>
/// <param name="Note">Says what was converted, if anything; null otherwise.</param>
/// <param name="Eps">The step used.</param>
/// <param name="Atol">The absolute tolerance used.</param>
/// <param name="Rtol">The relative tolerance used.</param>
public sealed record NumericResult(
    string Name,
    FiniteDifferenceMode Mode,
    bool Passed,
    double WorstAbsDiff,
    double WorstRatio,
    double MaxAbsDiff,
    long[]? WorstIndex,
    int? WorstDirection,
    double NumericAtWorst,
    double ManualAtWorst,
    long Checked,
    long[] Shape,
    bool ConvertedToFloat64,
    string? Note,
    double Eps,
    double Atol,
    double Rtol)
{
    public string ShapeText => "(" + string.Join(", ", Shape) + ")";

    /// <summary>With <see cref="FiniteDifferenceOptions.ExcuseKinks"/>: elements that failed at a kink and were excused.</summary>
    public long Excused { get; init; }

    /// <summary>The first excused element's index; null when none was.</summary>
    public long[]? FirstExcusedIndex { get; init; }

    /// <summary>The central difference and the manual value at the first excused element.</summary>
    public (double Numeric, double Manual)? AtFirstExcused { get; init; }

    /// <summary>Where the worst is: an element index like <c>[2, 5]</c> or a direction like <c>v3</c>.</summary>
    public string WorstText => WorstIndex is { } i ? "[" + string.Join(", ", i) + "]" : WorstDirection is { } d ? "v" + d : "-";

    /// <summary>One line for a report.</summary>
    public string Summary =>
        $"{Name} {ShapeText} {Mode.ToString().ToLowerInvariant()}: {(Passed ? "pass" : "FAIL")}, {Checked} checked, " +
        $"worst {WorstText} numeric {NumericAtWorst:G6} manual {ManualAtWorst:G6} |diff| {WorstAbsDiff:G3} " +
        $"({WorstRatio:G3}× tolerance){(Excused > 0 ? $"; {Excused} excused at kinks" : "")}{(Note is null ? "" : "; " + Note)}";
}

/// <summary>
/// The third oracle, like <c>torch.autograd.gradcheck</c>: central finite differences in float64 of a scalar
/// function of tensors, compared with hand-derived gradients. Unlike autograd it shares no code with any backward,
/// so it also catches a wrong custom backward that autograd would faithfully replay.
/// </summary>
/// <remarks>
/// Pass rule (gradcheck's): |manual − numeric| ≤ atol + rtol·|numeric|, default atol 1e-5, rtol 1e-3, eps 1e-6.
/// f is evaluated under <c>no_grad</c> on detached float64 copies of the inputs; the caller's tensors are never
/// modified. f must return a float64 tensor with one element: compute the loss from the tensors it is given.
/// </remarks>
public static class FiniteDifference
{
    /// <summary>
    /// Checks each input that has a manual gradient in <paramref name="manualGrads"/> (by name) against finite
    /// differences of <paramref name="f"/>. Inputs without a manual gradient are held constant and not reported
    /// (as gradcheck's inputs that do not require grad); integer inputs such as indices must be of that kind.
    /// </summary>
    /// <param name="inputs">Named inputs, passed to <paramref name="f"/> in this order.</param>
    /// <param name="f">A scalar function of the inputs; it receives float64 copies of floating inputs.</param>
    /// <param name="manualGrads">The hand-derived gradient of f for each checked input, by the input's name.</param>
    /// <param name="options">Mode, step, tolerances, sample sizes, seed; gradcheck's defaults when null.</param>
    /// <returns>One result per checked input, in input order.</returns>
    /// <exception cref="GradientCheckException">
    /// A manual gradient's shape differs from its input's, a manual gradient names no input, an input name repeats,
    /// a manual gradient is given for a non-floating input, or f does not return a float64 scalar.
    /// </exception>
    public static IReadOnlyList<NumericResult> Check(
        IReadOnlyList<(string Name, Tensor Value)> inputs,
        Func<IReadOnlyList<Tensor>, Tensor> f,
        IReadOnlyDictionary<string, Tensor> manualGrads,
        FiniteDifferenceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(manualGrads);
        var o = options ?? new FiniteDifferenceOptions();
        o.Validate();

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in inputs)
            if (!names.Add(name)) throw new GradientCheckException($"Input '{name}' is given twice.");
        foreach (var name in manualGrads.Keys)
            if (!names.Contains(name))
                throw new GradientCheckException(
                    $"Manual gradient '{name}' names no input; the inputs are: {string.Join(", ", names)}.");

        for (int j = 0; j < inputs.Count; j++)
        {
            var (name, x) = inputs[j];
            if (!manualGrads.TryGetValue(name, out var m)) continue;
            if (!x.is_floating_point())
                throw new GradientCheckException($"'{name}' is {x.dtype}, not floating point: it has no gradient to check.");
            if (!m.shape.SequenceEqual(x.shape))
                throw new GradientCheckException(
                    $"'{name}': manual gradient has shape {Cmp.Shape(m.shape)} but the input has shape {Cmp.Shape(x.shape)}; " +
                    MistakeHints.ForShapes(m.shape, x.shape));
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();

        // Detached float64 copies (floating inputs) or detached aliases (integer inputs, never perturbed).
        var work = new Tensor[inputs.Count];
        var converted = new bool[inputs.Count];
        for (int j = 0; j < inputs.Count; j++)
        {
            var x = inputs[j].Value;
            if (x.is_floating_point())
            {
                converted[j] = x.dtype != ScalarType.Float64;
                work[j] = x.detach().to_type(ScalarType.Float64, copy: true).contiguous();
            }
            else work[j] = x.detach();
        }

        // f must be a float64 scalar; checked once up front so the message is clear.
        Evaluate(f, work);

        var results = new List<NumericResult>();
        for (int j = 0; j < inputs.Count; j++)
        {
            var (name, x) = inputs[j];
            if (!manualGrads.TryGetValue(name, out var manual)) continue;
            string? note = null;
            if (converted[j]) note = $"{x.dtype} input converted to a float64 copy for the numeric check";
            if (manual.dtype != ScalarType.Float64)
                note = (note is null ? "" : note + "; ") + $"{manual.dtype} manual gradient compared in float64";

            using var g = new Generator(SeedFor(o.Seed, name));
            var m64 = manual.detach().to_type(ScalarType.Float64, copy: true).contiguous();
            var tally = new Tally(o.Atol, o.Rtol);
            long count = o.Mode == FiniteDifferenceMode.Full
                ? CheckElements(name, f, work, j, m64, o, g, tally)
                : CheckDirections(f, work, j, m64, o, g, tally);

            var shape = x.shape.ToArray();
            bool passed = tally.Passed;
            if (tally.Excused > o.MaxExcusedShare * count)
            {
                passed = false;
                note = (note is null ? "" : note + "; ") +
                       $"finite differences unreliable at {tally.Excused} of {count} elements (kinks), more than the {o.MaxExcusedShare * 100:0.##}% that may be excused";
            }
            results.Add(new NumericResult(
                name, o.Mode, passed, tally.WorstDiff, tally.WorstRatio, tally.MaxDiff,
                o.Mode == FiniteDifferenceMode.Full && tally.WorstAt >= 0 ? ElementStats.Unravel(tally.WorstAt, shape) : null,
                o.Mode == FiniteDifferenceMode.Fast && tally.WorstAt >= 0 ? (int)tally.WorstAt : null,
                tally.WorstNumeric, tally.WorstManual, count, shape, converted[j], note, o.Eps, o.Atol, o.Rtol)
            {
                Excused = tally.Excused,
                FirstExcusedIndex = tally.FirstExcusedAt >= 0 ? ElementStats.Unravel(tally.FirstExcusedAt, shape) : null,
                AtFirstExcused = tally.FirstExcusedAt >= 0 ? tally.AtFirstExcused : null,
            });
        }
        return results;
    }

    /// <summary>Checks one unnamed input (named "x" in the result).</summary>
    public static NumericResult Check(Tensor input, Func<Tensor, Tensor> f, Tensor manualGrad, FiniteDifferenceOptions? options = null) =>
        Check([("x", input)], xs => f(xs[0]), new Dictionary<string, Tensor> { ["x"] = manualGrad }, options)[0];

    /// <summary>Both modes, full first then fast, for the same inputs.</summary>
    public static IReadOnlyList<NumericResult> CheckBoth(
        IReadOnlyList<(string Name, Tensor Value)> inputs,
        Func<IReadOnlyList<Tensor>, Tensor> f,
        IReadOnlyDictionary<string, Tensor> manualGrads,
        FiniteDifferenceOptions? options = null)
    {
        var o = options ?? new FiniteDifferenceOptions();
        return
        [
            .. Check(inputs, f, manualGrads, o with { Mode = FiniteDifferenceMode.Full }),
            .. Check(inputs, f, manualGrads, o with { Mode = FiniteDifferenceMode.Fast }),
        ];
    }

    /// <summary>Full mode: every element (a sample beyond MaxElementsPerInput), each nudged by ±eps in place and restored.</summary>
    private static long CheckElements(
        string name, Func<IReadOnlyList<Tensor>, Tensor> f, Tensor[] work, int j, Tensor m64, FiniteDifferenceOptions o, Generator g, Tally tally)
    {
        var x = work[j];
        long n = x.numel(), done = 0;
        if (n == 0) return 0;
        long[] picks;
        if (n <= o.MaxElementsPerInput) picks = Enumerable.Range(0, (int)n).Select(i => (long)i).ToArray();
        else
        {
            using var s = NewDisposeScope();
            picks = randperm(n, generator: g).narrow(0, 0, o.MaxElementsPerInput).data<long>().ToArray();
            Array.Sort(picks);
        }

        var flat = x.view(-1);
        double[] xs = flat.data<double>().ToArray();
        double[] ms = m64.view(-1).data<double>().ToArray();
        double f0 = o.ExcuseKinks ? Evaluate(f, work) : double.NaN;
        foreach (long i in picks)
        {
            using var s = NewDisposeScope();
            var cell = flat[i];
            double plus = xs[i] + o.Eps, minus = xs[i] - o.Eps;
            cell.fill_(plus);
            double fp = Evaluate(f, work);
            cell.fill_(minus);
            double fm = Evaluate(f, work);
            cell.fill_(xs[i]);
            // Divide by the step actually taken in float64, not the nominal 2eps.
            double numeric = (fp - fm) / (plus - minus);
            if (o.ExcuseKinks && !tally.Passes(numeric, ms[i])
                && AtKink((f0 - fm) / (xs[i] - minus), (fp - f0) / (plus - xs[i]), ms[i], o))
                tally.Excuse(i, numeric, ms[i]);
            else tally.Add(i, numeric, ms[i]);
            o.Progress?.Invoke(name, ++done, picks.Length);
        }
        return picks.Length;
    }

    /// <summary>Fast mode: random unit directions over the whole input.</summary>
    private static long CheckDirections(
        Func<IReadOnlyList<Tensor>, Tensor> f, Tensor[] work, int j, Tensor m64, FiniteDifferenceOptions o, Generator g, Tally tally)
    {
        var x = work[j];
        if (x.numel() == 0) return 0;
        for (int d = 0; d < o.Directions; d++)
        {
            using var s = NewDisposeScope();
            var v = randn(x.shape, dtype: ScalarType.Float64, generator: g);
            v = v / v.norm();
            var xp = x + o.Eps * v;
            var xm = x - o.Eps * v;
            var args = (Tensor[])work.Clone();
            args[j] = xp;
            double fp = Evaluate(f, args);
            args[j] = xm;
            double fm = Evaluate(f, args);
            // The direction actually taken after float64 rounding, so vᵀ·manual matches the difference quotient.
            var taken = (xp - xm) / (2 * o.Eps);
            double manual = (taken * m64).sum().item<double>();
            tally.Add(d, (fp - fm) / (2 * o.Eps), manual);
        }
        return o.Directions;
    }

    /// <summary>
    /// The one-sided slopes disagree beyond the tolerance (f bends between x − eps and x + eps, which a smooth f does
    /// not at this step) and the manual value is one of them or lies between them, within the tolerance.
    /// </summary>
    private static bool AtKink(double left, double right, double manual, FiniteDifferenceOptions o)
    {
        double tol(double v) => o.Atol + o.Rtol * Math.Abs(v);
        if (!(Math.Abs(right - left) > tol(Math.Max(Math.Abs(left), Math.Abs(right))))) return false;
        double lo = Math.Min(left, right), hi = Math.Max(left, right);
        return manual >= lo - tol(lo) && manual <= hi + tol(hi);
    }

    private static double Evaluate(Func<IReadOnlyList<Tensor>, Tensor> f, IReadOnlyList<Tensor> args)
    {
        using var s = NewDisposeScope();
        var y = f(args) ?? throw new GradientCheckException("f returned null.");
        if (y.numel() != 1)
            throw new GradientCheckException($"f must return a scalar, but returned shape {Cmp.Shape(y.shape)}.");
        if (y.dtype != ScalarType.Float64)
            throw new GradientCheckException(
                $"f returned {y.dtype}; it must compute in float64 from the float64 inputs it is given " +
                "(a constant or a cast inside f loses the precision central differences need).");
        return y.item<double>();
    }

    /// <summary>FNV-1a of the name mixed into the seed: stable across processes, unlike string.GetHashCode.</summary>
    private static ulong SeedFor(ulong seed, string name)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in name)
        {
            h ^= c;
            h *= 1099511628211UL;
        }
        return seed ^ h;
    }

    /// <summary>Accumulates the pass rule and the worst case.</summary>
    private sealed class Tally(double atol, double rtol)
    {
        public bool Passed { get; private set; } = true;
        public long WorstAt { get; private set; } = -1;
        public double WorstRatio { get; private set; }
        public double WorstDiff { get; private set; }
        public double WorstNumeric { get; private set; }
        public double WorstManual { get; private set; }
        public double MaxDiff { get; private set; }
        public long Excused { get; private set; }
        public long FirstExcusedAt { get; private set; } = -1;
        public (double Numeric, double Manual) AtFirstExcused { get; private set; }

        public bool Passes(double numeric, double manual) => Math.Abs(manual - numeric) <= atol + rtol * Math.Abs(numeric);

        /// <summary>An element at a kink: counted, kept out of the pass rule and the worst case.</summary>
        public void Excuse(long at, double numeric, double manual)
        {
            if (Excused++ == 0)
            {
                FirstExcusedAt = at;
                AtFirstExcused = (numeric, manual);
            }
        }

        public void Add(long at, double numeric, double manual)
        {
            double diff = Math.Abs(manual - numeric);
            double tol = atol + rtol * Math.Abs(numeric);
            bool ok = diff <= tol; // false for NaN
            double ratio = ok ? (tol > 0 ? diff / tol : 0) : (tol > 0 && !double.IsNaN(diff) ? diff / tol : double.PositiveInfinity);
            if (!ok) Passed = false;
            MaxDiff = Math.Max(MaxDiff, diff); // Math.Max keeps a NaN
            if (WorstAt < 0 || ratio > WorstRatio)
            {
                WorstAt = at;
                WorstRatio = ratio;
                WorstDiff = diff;
                WorstNumeric = numeric;
                WorstManual = manual;
            }
        }
    }
}
