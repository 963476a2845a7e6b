using ManualVsAuto.Reporting;
using ScottPlot;
using SkiaSharp;

using ManualVsAuto.Plots;

namespace ManualVsAuto.Tests;

public class HeatmapTests
{
    /// <summary>Like the lecture's imshow: example 0 is the top row. A dlogits whose row 0 is the minimum (black)
    /// and whose last row is the maximum (white) must draw black above white.</summary>
    [Fact]
    public void RowZeroIsAtTheTop()
    {
        var d = new float[32, 27];
        for (int j = 0; j < 27; j++) { d[0, j] = -1; d[31, j] = 1; }
        var plot = DlogitsHeatmap.Build(d);
        using var bitmap = SKBitmap.Decode(plot.GetImage(DlogitsHeatmap.Width, DlogitsHeatmap.Height).GetImageBytes());
        var top = plot.GetPixel(new Coordinates(13, 0));
        var bottom = plot.GetPixel(new Coordinates(13, 31));
        Assert.True(top.Y < bottom.Y, $"row 0 at y={top.Y} px is not above row 31 at y={bottom.Y} px");
        Assert.True(Brightness(bitmap, top) < 40, $"row 0 should be black, got {Brightness(bitmap, top)}");
        Assert.True(Brightness(bitmap, bottom) > 215, $"row 31 should be white, got {Brightness(bitmap, bottom)}");
    }

    private static int Brightness(SKBitmap b, Pixel p)
    {
        var c = b.GetPixel((int)p.X, (int)p.Y);
        return (c.Red + c.Green + c.Blue) / 3;
    }
}
