using ManualVsAuto.Checking;
using ManualVsAuto.Data;

namespace ManualVsAuto.Tests;

/// <summary>The real data set and the default check report, computed once for the whole test run.</summary>
public static class LectureFixture
{
    private static readonly Lazy<DataSplit> split = new(() =>
    {
        var s = Dataset.Split(NamesFile.Load(RealData.Path));
        // Shared by every test: keep it out of whichever test's dispose scope happens to build it.
        foreach (var t in new[] { s.Train.X, s.Train.Y, s.Dev.X, s.Dev.Y, s.Test.X, s.Test.Y }) t.DetachFromDisposeScope();
        return s;
    });

    private static readonly Lazy<CheckReport> report = new(() => LectureCheck.Run(Split.Train, new CheckSettings()));

    public static DataSplit Split => split.Value;

    public static CheckReport Report => report.Value;
}
