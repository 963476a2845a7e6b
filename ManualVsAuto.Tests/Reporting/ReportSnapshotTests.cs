using System.Globalization;
using Snapshooter.Xunit;

namespace ManualVsAuto.Tests;

/// <summary>
/// A change that moves the report shows up as a snapshot diff. Only what is the same on any x86-64 CPU is
/// snapshotted: names, shapes, verdicts, the exact/approximate/passed flags and the loss to 4 decimals, not maxdiff digits.
/// </summary>
public class ReportSnapshotTests
{
    [DataFact]
    public void CheckReport()
    {
        var r = LectureFixture.Report;
        Snapshot.Match(new
        {
            Loss = r.Loss.ToString("F4", CultureInfo.InvariantCulture),
            r.Settings.Seed,
            r.Settings.BatchSize,
            Hidden = r.Settings.NHidden, // the snapshot keeps its key
            Dtype = r.Settings.Dtype.ToString(),
            Rows = r.Rows.Select(row => new { row.Name, Shape = row.ShapeText, Verdict = row.VerdictText, row.Exact, row.Approximate, row.ExpectExact, row.Passed }),
            Forward = r.Forward.Select(f => f.Name),
            r.Summary,
        });
    }
}
