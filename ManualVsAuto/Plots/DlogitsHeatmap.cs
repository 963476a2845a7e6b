using ScottPlot;

namespace ManualVsAuto.Plots;

/// <summary>The lecture's <c>plt.imshow(dlogits, cmap='gray')</c>: one row per example, one column per character.</summary>
public static class DlogitsHeatmap
{
    public static void Save(float[,] dlogits, string path)
    {
        int rows = dlogits.GetLength(0), cols = dlogits.GetLength(1);
        var values = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) values[rows - 1 - i, j] = dlogits[i, j]; // ScottPlot draws array row k at y = rows-1-k; reversed, the y ticks are example indices (checked against argmin = Yb)

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Grayscale();
        plot.Add.ColorBar(heatmap).Label = "dlogits";
        plot.Title("dlogits: softmax(logits) − one_hot(Yb), divided by n");
        plot.XLabel("character (0 = '.', 1..26 = a..z)");
        plot.YLabel("example in the minibatch");
        plot.Axes.Margins(0, 0);
        PngFile.Save(path, tmp => plot.SavePng(tmp, 900, 800));
    }
}
