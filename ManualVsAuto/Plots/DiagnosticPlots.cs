using System.Globalization;
using ManualVsAuto.Training;

namespace ManualVsAuto.Plots;

/// <summary>Part 3's four plots of the diagnostics, as PNGs in one folder: the latest sample's histograms of the Tanh
/// activations, of the Tanh output gradients and of the 2-D weights' gradients, and update:data over the sampled steps.</summary>
public static class DiagnosticPlots
{
    public static readonly string[] Files = ["activations.png", "gradients.png", "weight-gradients.png", "update-data.png"];

    /// <param name="title">Names the run, e.g. "deep, manual backward".</param>
    public static IReadOnlyList<string> Write(string dir, TrainingDiagnostics d, string title)
    {
        var last = d.Last ?? throw new InvalidOperationException("no step was sampled");
        var paths = Files.Select(f => Path.Combine(dir, f)).ToArray();
        Histograms(paths[0], last.Activations.Select(a => (Label($"{a.Layer}: mean {(a.Mean < 0 ? "-" : "+") + Math.Abs(a.Mean).ToString("0.00", CultureInfo.InvariantCulture)}, std {a.Std:F2}, saturated {a.SaturatedPercent:F2}%"), a.Histogram)),
            Label($"activation distribution at step {last.Step:N0} ({title})"), "tanh output");
        Histograms(paths[1], last.Gradients.Where(g => g.Kind == "Tanh").Select(g => (Label($"{g.Layer}: mean {g.Mean:+0.0e+0;-0.0e+0}, std {g.Std:0.00e+0}"), g.Histogram)),
            Label($"gradient distribution at step {last.Step:N0} ({title})"), "d loss / d tanh output");
        Histograms(paths[2], last.Weights.Select(w => (Label($"{w.Name} ({string.Join(", ", w.Shape)}): grad:data {w.GradToData:0.00e+0}"), w.Histogram)),
            Label($"weights gradient distribution at step {last.Step:N0} ({title})"), "gradient");
        UpdateRatios(paths[3], d, Label($"update:data over the steps ({title})"));
        return paths;
    }

    private static void Histograms(string path, IEnumerable<(string Label, Histogram? H)> series, string title, string xLabel)
    {
        var plt = new ScottPlot.Plot();
        foreach (var (label, h) in series)
        {
            if (h is null || h.Centers.Length == 0) continue;
            var line = plt.Add.Scatter(h.Centers, h.Density);
            line.MarkerSize = 0;
            line.LineWidth = 2;
            line.LegendText = label;
        }
        plt.Title(title);
        plt.XLabel(xLabel);
        plt.YLabel("density");
        plt.ShowLegend(ScottPlot.Alignment.UpperRight);
        PngFile.Save(path, tmp => plt.SavePng(tmp, 1200, 500));
    }

    private static void UpdateRatios(string path, TrainingDiagnostics d, string title)
    {
        var plt = new ScottPlot.Plot();
        var steps = d.Samples.Select(s => (double)s.Step).ToArray();
        foreach (var u in d.Samples[0].Updates.Where(u => u.Dims == 2))
        {
            var ys = d.Samples.Select(s => s.Updates.First(x => x.Name == u.Name).Log10).ToArray();
            var line = plt.Add.Scatter(steps, ys);
            line.MarkerSize = 0;
            line.LineWidth = 1.5f;
            line.LegendText = u.Name;
        }
        var target = plt.Add.HorizontalLine(DiagnosticWarnings.UpdateTarget);
        target.Color = ScottPlot.Colors.Black;
        target.LineWidth = 2;
        target.LegendText = "these ratios should be ~1e-3";
        plt.Title(title);
        plt.XLabel("step");
        plt.YLabel("log10(update std / data std)");
        plt.ShowLegend(ScottPlot.Alignment.UpperRight);
        PngFile.Save(path, tmp => plt.SavePng(tmp, 1200, 500));
    }

    private static string Label(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
