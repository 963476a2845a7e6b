using System.Globalization;

namespace ManualVsAuto.Training;

/// <summary>
/// What part 3 teaches to look for, as warnings a learner can act on, each naming the layer and the number:
/// <list type="bullet">
/// <item>a Tanh layer with more than <see cref="SaturationPercent"/> % of its activations saturated (|t| &gt; 0.97) at
/// the last sampled step: those units pass (almost) no gradient;</item>
/// <item>a 2-D weight whose update:data ratio, averaged over the last <see cref="RecentShare"/> of the run, is more than
/// 10^<see cref="UpdateBand"/> (≈ 18×) from part 3's 1e-3: the learning rate is too high or too low for it;</item>
/// <item>a Tanh layer whose output gradient's std is more than <see cref="NeighbourFactor"/>× or less than
/// 1/<see cref="NeighbourFactor"/> of the next Tanh layer's: gradients explode or vanish on the way to the input.</item>
/// </list>
/// On part 3's deep net the default run (batchnorm, gain 1, lr 0.1, 1,001 steps) stays inside all three (at most 2.78 %
/// saturated, update:data between 10^−3.1 and 10^−1.96, neighbours within 1.2×), while the notebook's bad settings
/// each trip one: no batchnorm (the output layer's update:data 10^−1.56), gain 5/3 without it (22 % saturated),
/// lr 1 (10^−1.62), lr 0.001 (every weight below 10^−4.4).
/// </summary>
public static class DiagnosticWarnings
{
    public const double SaturationPercent = 10;

    /// <summary>In log10: −3 ± 1.25, i.e. update:data between 10^−4.25 and 10^−1.75.</summary>
    public const double UpdateBand = 1.25;

    public const double UpdateTarget = -3;

    /// <summary>The share of the run (by step) whose update:data ratios are averaged: the last 10 %.</summary>
    public const double RecentShare = 0.1;

    public const double NeighbourFactor = 3;

    public static IReadOnlyList<string> For(TrainingDiagnostics d)
    {
        var warnings = new List<string>();
        if (d.Last is not { } last) return warnings;
        foreach (var a in last.Activations.Where(a => a.SaturatedPercent > SaturationPercent))
            warnings.Add(Text($"{a.Layer}: {a.SaturatedPercent:F2} % of its activations are saturated (|t| > {TrainingDiagnostics.SaturationLevel}) at step {last.Step:N0}, above {SaturationPercent} %: tanh passes almost no gradient there. A smaller gain or batchnorm before it helps."));

        int first = d.Samples[0].Step;
        int from = last.Step - (int)Math.Ceiling((last.Step - first) * RecentShare);
        var recent = d.Samples.Where(s => s.Step >= from).ToList();
        foreach (var u in last.Updates.Where(u => u.Dims == 2))
        {
            double mean = recent.Average(s => s.Updates.First(x => x.Name == u.Name).Log10);
            string over = recent.Count == 1 ? $"at step {last.Step:N0}" : $"mean of steps {recent[0].Step:N0}–{last.Step:N0}";
            if (mean > UpdateTarget + UpdateBand)
                warnings.Add(Text($"{u.Name}: update:data is 10^{mean:F2} ({over}), far above 1e-3: each step changes it by {Math.Pow(10, mean) * 100:G2} % of its size, so the learning rate is too high for this layer."));
            else if (mean < UpdateTarget - UpdateBand)
                warnings.Add(Text($"{u.Name}: update:data is 10^{mean:F2} ({over}), far below 1e-3: the layer barely moves, so the learning rate is too low for it."));
        }

        var tanhs = last.Gradients.Where(g => g.Kind == "Tanh").ToList();
        for (int i = 0; i + 1 < tanhs.Count; i++)
        {
            var (g, next) = (tanhs[i], tanhs[i + 1]);
            if (!(next.Std > 0) || !(g.Std > 0)) continue;
            double r = g.Std / next.Std;
            if (r > NeighbourFactor)
                warnings.Add(Text($"{g.Layer}: its output gradient's std {g.Std:E2} is {r:F1}× that of the next Tanh ({next.Layer}, {next.Std:E2}) at step {last.Step:N0}: gradients explode toward the input."));
            else if (r < 1 / NeighbourFactor)
                warnings.Add(Text($"{g.Layer}: its output gradient's std {g.Std:E2} is 1/{1 / r:F1} of the next Tanh's ({next.Layer}, {next.Std:E2}) at step {last.Step:N0}: gradients vanish toward the input."));
        }
        return warnings;
    }

    private static string Text(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
