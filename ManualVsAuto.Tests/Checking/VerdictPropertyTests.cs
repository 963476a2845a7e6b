using CsCheck;
using ManualVsAuto.Checking;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// For any seed, batch size (2–128), width (1–300), thread count (1–2) and dtype, the lecture's manual backward is
/// right: every Exercise-1 row is exact and every row's verdict passes (so check exits 0). A bounded number of cases
/// in CI (40); a failure prints the configuration, shrunk, and CsCheck's seed to replay it.
/// </summary>
[Collection(LibTorchThreads.Name)]
public class VerdictPropertyTests(ITestOutputHelper output)
{
    private static readonly Gen<CheckSettings> Settings =
        Gen.Select(Gen.ULong[1, int.MaxValue], Gen.Int[2, 128], Gen.Int[1, 300], Gen.Int[1, 2], Gen.Bool)
            .Select((seed, batch, hidden, threads, f64) =>
                new CheckSettings(seed, batch, hidden, threads, f64 ? ScalarType.Float64 : ScalarType.Float32, Numeric: null));

    [DataFact]
    public void EveryConfigurationIsExactAndPasses()
    {
        try
        {
            Settings.Sample(s =>
            {
                var report = LectureCheck.Run(LectureFixture.Split.Train, s);
                var failing = report.Rows.Where(r => !r.Passed).Select(r => $"{r.Name}: {r.VerdictText} {r.Hint} {r.Evidence}").ToList();
                Assert.True(failing.Count == 0, string.Join("\n", failing));
                Assert.All(report.Rows.Take(LectureCheck.StepByStepRowCount), r => Assert.True(r.Exact, $"{r.Name}: {r.VerdictText}"));
                Assert.True(report.Passes(RequiredLevel.Exact), report.Summary);
            },
            writeLine: output.WriteLine, iter: 40, threads: 1,
            print: s => $"seed {s.Seed} · batch {s.BatchSize} · hidden {s.NHidden} · threads {s.Threads} · {s.Dtype}");
        }
        finally
        {
            set_num_threads(1);
        }
    }
}
