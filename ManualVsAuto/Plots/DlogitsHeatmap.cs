using ScottPlot;

namespace ManualVsAuto.Plots;

/// <summary>The lecture's <c>plt.imshow(dlogits, cmap='gray')</c>: one row per example, one column per character.</summary>
public static class DlogitsHeatmap
{
    public static void Save(float[,] dlogits, string path)
    {
        var plot = Build(dlogits);
        PngFile.Save(path, tmp => plot.SavePng(tmp, Width, Height));
    }

    public const int Width = 900, Height = 800;

    /// <summary>The plot, with example 0 in the top row as in imshow.</summary>
    public static Plot Build(float[,] dlogits)
    {
        int rows = dlogits.GetLength(0), cols = dlogits.GetLength(1);
        var values = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) values[i, j] = dlogits[i, j]; // the image's top row is array row 0; with the inverted y axis below, example i is at y = i

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Grayscale();
        plot.Add.ColorBar(heatmap).Label = "dlogits";
        plot.Title("dlogits: softmax(logits) − one_hot(Yb), divided by n");
        plot.XLabel("character (0 = '.', 1..26 = a..z)");
        plot.YLabel("example in the minibatch");
        plot.Axes.Margins(0, 0);
        // imshow puts row 0 at the top: the y axis runs downwards (a bottom limit above the top one inverts it).
        plot.Axes.SetLimitsY(rows - 0.5, -0.5);
        return plot;
    }
}
