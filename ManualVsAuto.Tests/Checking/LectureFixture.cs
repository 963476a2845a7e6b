using ManualVsAuto.Checking;
using ManualVsAuto.Data;

namespace ManualVsAuto.Tests;

/// <summary>The real data set and the default check report, computed once for the whole test run.</summary>
public static class LectureFixture
{
    private static readonly Lazy<DataSplit> split = new(() => Dataset.Split(NamesFile.Load(RealData.Path)));

    private static readonly Lazy<CheckReport> report = new(() => LectureCheck.Run(Split.Train, new CheckSettings()));

    public static DataSplit Split => split.Value;

    public static CheckReport Report => report.Value;
}
