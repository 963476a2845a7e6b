using System.Globalization;

using ManualVsAuto.Training;

namespace ManualVsAuto.Plots;

/// <summary>The lecture's loss plot: log10 of the loss, averaged over blocks of 1,000 steps, as a PNG.</summary>
public static class LossPlot
{
    public const int LectureBlock = 1000;

    /// <summary>1,000 as in the lecture when that leaves at least 20 points; smaller (100, 10, 1) for short runs.</summary>
    public static int BlockSize(int steps)
    {
        foreach (int b in new[] { LectureBlock, 100, 10 })
            if (steps / b >= 20) return b;
        return 1;
    }

    /// <summary>(step at the block's start, mean log10 loss) for each full block.</summary>
    public static IReadOnlyList<(double Step, double Log10Loss)> Points(IReadOnlyList<float> losses, int block)
    {
        var points = new List<(double, double)>();
        for (int start = 0; start + block <= losses.Count; start += block)
        {
            double sum = 0;
            for (int i = start; i < start + block; i++) sum += Math.Log10(losses[i]);
            points.Add((start, sum / block));
        }
        return points;
    }

    public static void Write(string path, IReadOnlyList<float> losses, TrainingSettings s)
    {
        int block = BlockSize(losses.Count);
        var points = Points(losses, block);
        var plt = new ScottPlot.Plot();
        var line = plt.Add.Scatter(points.Select(p => p.Step).ToArray(), points.Select(p => p.Log10Loss).ToArray());
        line.MarkerSize = points.Count > 60 ? 0 : 4;
        line.LineWidth = 2;
        line.LegendText = string.Create(CultureInfo.InvariantCulture, $"mean of log10(loss) over {block:N0} steps");
        if (s.DecayStep > 0 && s.DecayStep < losses.Count)
        {
            var decay = plt.Add.VerticalLine(s.DecayStep);
            decay.LinePattern = ScottPlot.LinePattern.Dashed;
            decay.LegendText = string.Create(CultureInfo.InvariantCulture, $"lr {s.Lr} → {s.Lr / 10}");
        }
        plt.Title(string.Create(CultureInfo.InvariantCulture,
            $"Training loss, {(s.Model.IsDefault ? "" : $"{s.Model.Name}, ")}{s.Backward.Name()} backward (n_hidden {s.NHidden}, batch {s.BatchSize}, {losses.Count:N0} steps)"));
        plt.XLabel("step");
        plt.YLabel(string.Create(CultureInfo.InvariantCulture, $"log10(loss), mean per {block:N0} steps"));
        plt.ShowLegend(ScottPlot.Alignment.UpperRight);
        PngFile.Save(path, tmp => plt.SavePng(tmp, 1000, 600));
    }
}
