using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// The checker's own float64 decision (no <see cref="GradientCheck.DecideInFloat64"/>): the lecture's backward over
/// the sweep of configurations raises no false alarm, and every mistake of the mistake matrix is still WRONG at its line.
/// </summary>
public class Float64ReplayTests
{
    public static TheoryData<ulong, int, int, int> Sweep()
    {
        var data = new TheoryData<ulong, int, int, int>();
        foreach (ulong seed in new ulong[] { 1, MlpConfig.LectureSeed })
            foreach (int batch in new[] { 2, 3, 17, 32, 33, 100 })
                foreach (int hidden in new[] { 1, 7, 64, 200, 257 })
                    foreach (int threads in new[] { 1, 2 })
                        data.Add(seed, batch, hidden, threads);
        return data;
    }

    [DataTheory]
    [MemberData(nameof(Sweep))]
    public void TheRightBackwardPassesWithoutARerun(ulong seed, int batch, int hidden, int threads)
    {
        int before = get_num_threads();
        try
        {
            var report = LectureCheck.Run(LectureFixture.Split.Train,
                new CheckSettings(seed, batch, NHidden: hidden, Threads: threads, Numeric: null), rerunInFloat64: false);
            Assert.All(report.Rows, r => Assert.True(r.Passed, $"{r.Name}: {r.VerdictText} {r.Evidence} {r.Hint}"));
        }
        finally
        {
            set_num_threads(before);
        }
    }

    [DataTheory]
    [MemberData(nameof(MistakeMatrixTests.Cases), MemberType = typeof(MistakeMatrixTests))]
    public void EveryMistakeIsStillWrongAtItsLine(string mistake) => MistakeMatrixTests.Verify(mistake, 32, rerunInFloat64: false);

    [DataTheory]
    [MemberData(nameof(MistakeMatrixTests.CorrectVariants), MemberType = typeof(MistakeMatrixTests))]
    public void CorrectVariantsPassWithoutARerun(string variant, int batch) => MistakeMatrixTests.VerifyCorrect(variant, batch, rerunInFloat64: false);

    [DataTheory]
    [MemberData(nameof(MistakeMatrixTests.SmallBatchCases), MemberType = typeof(MistakeMatrixTests))]
    public void AtBatchTwoTheMistakeIsStillFoundWithoutARerun(string mistake) => MistakeMatrixTests.Verify(mistake, 2, rerunInFloat64: false);
}
