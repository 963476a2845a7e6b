using static TorchSharp.torch;

namespace ManualVsAuto.Training;

/// <summary>A histogram as part 3 draws it (<c>torch.histogram(t, density=True)</c>): bins over the values' range,
/// each bin's density (count / (total · width)).</summary>
public sealed record Histogram(double[] Centers, double[] Density);

/// <summary>Part 3's activation statistics of a Tanh layer: mean, std and the share of |t| &gt; 0.97.</summary>
public sealed record ActivationStats(string Layer, double Mean, double Std, int Saturated, long Count, Histogram? Histogram)
{
    public double SaturatedPercent => 100.0 * Saturated / Count;
}

/// <summary>Mean and std of the gradient of a layer's output.</summary>
public sealed record GradientStats(string Layer, string Kind, double Mean, double Std, Histogram? Histogram);

/// <summary>A 2-D parameter's gradient: mean, std and part 3's grad:data ratio, <c>grad.std() / p.std()</c>.</summary>
public sealed record WeightStats(string Name, long[] Shape, double GradMean, double GradStd, double GradToData, Histogram? Histogram);

/// <summary>Part 3's update:data ratio of a parameter after a step: <c>log10((lr·grad).std() / p.data.std())</c>.</summary>
public sealed record UpdateRatio(string Name, int Dims, double Log10);

/// <summary>The statistics of one sampled step. Only the latest sample keeps its histograms.</summary>
public sealed record DiagnosticSample(int Step, double Lr, IReadOnlyList<ActivationStats> Activations, IReadOnlyList<GradientStats> Gradients,
    IReadOnlyList<WeightStats> Weights, IReadOnlyList<UpdateRatio> Updates);

/// <summary>
/// Part 3's look inside the training, for any net whose trainer is an <see cref="IObservableTrainer"/>: every
/// <see cref="Every"/> steps (and at the last step) the step's own layer outputs and gradients are summarised —
/// the Tanh layers' activations, every layer's output gradient, each 2-D weight's gradient and grad:data ratio,
/// every parameter's update:data ratio. A sample copies each of those tensors once, as float64; memory grows by one small record
/// per sample (histograms are kept for the latest sample only).
/// </summary>
public sealed class TrainingDiagnostics(int every)
{
    /// <summary>Part 3's saturation test: |t| &gt; 0.97.</summary>
    public const double SaturationLevel = 0.97;

    /// <summary>Bins of every histogram (torch.histogram's default).</summary>
    public const int Bins = 100;

    private readonly List<DiagnosticSample> samples = [];

    public int Every { get; } = every >= 1 ? every : throw new ArgumentOutOfRangeException(nameof(every), every, "sample every k ≥ 1 steps");

    public IReadOnlyList<DiagnosticSample> Samples => samples;

    public DiagnosticSample? Last => samples.Count == 0 ? null : samples[^1];

    /// <summary>At most ~1,000 samples over the run: every step of the notebook's 1,001, every 200th of 200,000.</summary>
    public static int DefaultEvery(int steps) => Math.Max(1, steps / 1000);

    /// <summary>Whether step <paramref name="step"/> (0-based) of a run of <paramref name="steps"/> is sampled.</summary>
    public bool Wants(int step, int steps) => step % Every == 0 || step == steps - 1;

    /// <summary>Summarises one step's activity (right after the step, before its tensors are gone).</summary>
    public DiagnosticSample Record(int step, StepActivity a)
    {
        var activations = a.Layers.Where(l => l.Kind == "Tanh" && l.Out is not null).Select(l =>
        {
            var x = Values.Of(l.Out!);
            return new ActivationStats(l.Name, x.Mean, x.Std, x.CountAbove(SaturationLevel), x.Count, x.Histogram());
        }).ToList();
        var gradients = a.Layers.Select(l =>
        {
            var x = Values.Of(l.DOut);
            return new GradientStats(l.Name, l.Kind, x.Mean, x.Std, x.Histogram());
        }).ToList();
        var stats = a.Parameters.Select(p => (P: p, Grad: Values.Of(p.Grad), Data: Values.Of(p.Value))).ToList();
        var weights = stats.Where(s => s.P.Value.dim() == 2)
            .Select(s => new WeightStats(s.P.Name, s.P.Value.shape, s.Grad.Mean, s.Grad.Std, s.Grad.Std / s.Data.Std, s.Grad.Histogram())).ToList();
        // (lr·grad).std() is lr·grad.std() up to rounding: the std is computed once.
        var updates = stats.Select(s => new UpdateRatio(s.P.Name, (int)s.P.Value.dim(), Math.Log10(a.Lr * s.Grad.Std / s.Data.Std))).ToList();
        if (samples.Count > 0) samples[^1] = WithoutHistograms(samples[^1]);
        var sample = new DiagnosticSample(step, a.Lr, activations, gradients, weights, updates);
        samples.Add(sample);
        return sample;
    }

    /// <summary>A tensor's values copied once into float64, and part 3's statistics of them: one copy per tensor
    /// instead of a libtorch reduction (and its dispatch) per statistic.</summary>
    private sealed class Values
    {
        private readonly double[] x;

        private Values(double[] x)
        {
            this.x = x;
            if (x.Length == 0) return;
            double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
            foreach (double v in x) { sum += v; min = Math.Min(min, v); max = Math.Max(max, v); }
            Mean = sum / x.Length;
            double ss = 0;
            foreach (double v in x) ss += (v - Mean) * (v - Mean);
            Std = x.Length > 1 ? Math.Sqrt(ss / (x.Length - 1)) : double.NaN; // unbiased, as torch.std
            (Min, Max) = (min, max);
        }

        public static Values Of(Tensor t)
        {
            using var _ = no_grad();
            using var x = t.detach().reshape(-1).to_type(ScalarType.Float64).cpu();
            return new Values(x.data<double>().ToArray());
        }

        public long Count => x.Length;
        public double Mean { get; } = double.NaN;
        public double Std { get; } = double.NaN;
        public double Min { get; }
        public double Max { get; }

        public int CountAbove(double level) => x.Count(v => Math.Abs(v) > level);

        /// <summary>torch.histogram(t, density=True) over the values' range.</summary>
        public Histogram Histogram()
        {
            double lo = Min, hi = Max;
            if (x.Length == 0 || !double.IsFinite(lo) || !double.IsFinite(hi)) return new Histogram([], []);
            if (hi <= lo) (lo, hi) = (lo - 0.5, hi + 0.5); // torch widens a single value's range too
            double width = (hi - lo) / Bins;
            var counts = new double[Bins];
            foreach (double v in x) counts[Math.Clamp((int)Math.Floor((v - lo) / width), 0, Bins - 1)]++; // the top edge goes in the last bin
            return new Histogram(
                Enumerable.Range(0, Bins).Select(i => lo + (i + 0.5) * width).ToArray(),
                counts.Select(c => c / (x.Length * width)).ToArray());
        }
    }

    private static DiagnosticSample WithoutHistograms(DiagnosticSample s) => s with
    {
        Activations = s.Activations.Select(x => x with { Histogram = null }).ToList(),
        Gradients = s.Gradients.Select(x => x with { Histogram = null }).ToList(),
        Weights = s.Weights.Select(x => x with { Histogram = null }).ToList(),
    };
}
