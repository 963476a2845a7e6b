using ManualVsAuto.Plots;
using ManualVsAuto.Training;

namespace ManualVsAuto.Tests;

public sealed class LossPlotTests
{
    [Theory]
    [InlineData(200_000, 1000)] // the lecture's blocks: 200 points
    [InlineData(20_000, 1000)]
    [InlineData(19_999, 100)]
    [InlineData(300, 10)]
    [InlineData(50, 1)]
    public void BlocksAreTheLecturesUnlessThatLeavesTooFewPoints(int steps, int block) =>
        Assert.Equal(block, LossPlot.BlockSize(steps));

    [Fact]
    public void PointsAreBlockMeansOfLog10Loss()
    {
        var points = LossPlot.Points([10f, 1000f, 1f, 100f, 5f], 2);
        Assert.Equal([(0.0, 2.0), (2.0, 1.0)], points); // the incomplete last block is dropped
    }

    [Fact]
    public void WritesAPng()
    {
        string path = Path.Combine(Path.GetTempPath(), $"mva-plot-{Guid.NewGuid():N}.png");
        try
        {
            LossPlot.Write(path, Enumerable.Range(1, 400).Select(i => 3f / MathF.Sqrt(i)).ToArray(), new TrainingSettings(Steps: 400, DecayStep: 200));
            var bytes = File.ReadAllBytes(path);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
            Assert.True(bytes.Length > 10_000);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
