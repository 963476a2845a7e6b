using ManualVsAuto.Backward;
using ManualVsAuto.Checking;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// The lecture's backward checked as a user without steps would: every intermediate registered with plain
/// <see cref="GradientCheck.Track"/>, no float64 rerun. Then only the order of the rows tells a mistake's origin, so
/// the mistaken line must be the first row that does not pass, and no later row may be named an origin.
/// </summary>
public class TrackOnlyMistakeTests
{
    /// <summary>Evaluates each step and registers its value with Track only: the checker learns no inputs.</summary>
    private sealed class TrackOnly(GradientCheck check) : IStepRecorder
    {
        private readonly Dictionary<string, Tensor> values = new(StringComparer.Ordinal);

        public Tensor Step(string name, StepFunction f) => values[name] = check.Track(name, f(n => values[n]));
    }

    private static GradientCheck Check(StepByStepBackwardFunction backward, int batch = 32, ulong seed = MlpConfig.LectureSeed, int hidden = 64)
    {
        var g = new Generator(seed);
        var p = MlpParameters.Init(new MlpConfig(NHidden: hidden), g);
        var (Xb, Yb) = Minibatch.Draw(LectureFixture.Split.Train, batch, g);
        var check = new GradientCheck();
        var f = StepByStepForward.Run(p, Xb, Yb, new TrackOnly(check));
        check.Backward(f.loss);
        var rows = backward(p, f, Xb, Yb);
        foreach (var (name, d) in rows) check.Compare(name, d);
        // The fused rows too: a fused formula is right but not exact, and ill-conditioned at batch 2.
        check.Compare("logits", FusedBackward.CrossEntropy(f.logits, Yb), "logits (fused)", expectExact: false, from: "loss");
        check.Compare("hprebn", FusedBackward.BatchNorm(rows.Single(r => r.Name == "hpreact").Grad, p.bngain, f.bnvar_inv, f.bnraw),
            "hprebn (fused)", expectExact: false, from: "hpreact");
        return check;
    }

    /// <summary>
    /// The one mistake float32 cannot decide without steps: the dropped + eps moves dbnvar by 3e-5 of its own values,
    /// less than an ill-conditioned right formula may. It is still the likely origin, and every row below inherits it.
    /// </summary>
    private const string DroppedEps = "wrong local derivative at bnvar";

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var k in MistakeMatrixTests.Mistakes.Keys) data.Add(k);
        foreach (var line in new[] { "logprobs", "counts", "bnraw", "bnvar", "hprebn", "W1", "C" }) data.Add("sign error at " + line);
        return data;
    }

    [DataTheory]
    [MemberData(nameof(Cases))]
    public void TheMistakenLineIsTheOnlyOrigin(string mistake)
    {
        using var scope = NewDisposeScope();
        int at = mistake.LastIndexOf(" at ", StringComparison.Ordinal);
        var (kind, line) = (mistake[..at], mistake[(at + 4)..]);
        var wrong = kind == "sign error" ? (l => -l.D) : MistakeMatrixTests.Mistakes[mistake];
        var check = Check(MistakeMatrixTests.With(line, wrong));
        var failing = check.Rows.Where(r => !r.Passed).ToList();
        Assert.NotEmpty(failing);
        var origin = failing[0];
        Assert.True(origin.Name == line, $"first failing row {origin.Name} ({origin.VerdictText}), expected {line}");
        if (mistake == DroppedEps)
            Assert.Equal("float32 cannot decide (likely origin)", origin.VerdictText);
        else
        {
            Assert.True(origin.Verdict is Verdict.Wrong or Verdict.ShapeMismatch, $"{origin.Name}: {origin.VerdictText}");
            // Without steps some mistakes have no signature left to read (a wrong local derivative, an overwriting
            // scatter): no hint then, never a wrong one.
            Assert.True(origin.Hint is null || origin.Hint.Contains(MistakeMatrixTests.HintWords(kind), StringComparison.Ordinal), origin.Hint);
        }
        Assert.All(failing.Skip(1), r => Assert.True(r.Verdict == Verdict.Inherits && r.InheritsFrom.SequenceEqual([line]),
            $"{r.Name}: {r.VerdictText}"));
    }

    [DataFact]
    public void TheRightBackwardPasses()
    {
        using var scope = NewDisposeScope();
        var check = Check((p, f, Xb, Yb) => StepByStepBackward.Run(p, f, Xb, Yb));
        Assert.All(check.Rows, r => Assert.True(r.Passed, $"{r.Name}: {r.VerdictText}"));
    }

    public static TheoryData<ulong, int, int> Sweep()
    {
        var data = new TheoryData<ulong, int, int>();
        foreach (ulong seed in new ulong[] { 1, MlpConfig.LectureSeed })
            foreach (int batch in new[] { 2, 3, 17, 32, 33, 100 })
                foreach (int hidden in new[] { 1, 7, 64, 200, 257 })
                    data.Add(seed, batch, hidden);
        return data;
    }

    /// <summary>
    /// The right backward over the sweep's configurations: without steps or float64 some rows may stay undecided
    /// (ill-conditioned in float32), but none is called wrong.
    /// </summary>
    [DataTheory]
    [MemberData(nameof(Sweep))]
    public void TheRightBackwardIsNeverCalledWrong(ulong seed, int batch, int hidden)
    {
        using var scope = NewDisposeScope();
        var check = Check((p, f, Xb, Yb) => StepByStepBackward.Run(p, f, Xb, Yb), batch, seed, hidden);
        var wrong = check.Rows.Where(r => r.Verdict is Verdict.Wrong or Verdict.ShapeMismatch or Verdict.DtypeMismatch).ToList();
        Assert.True(wrong.Count == 0, string.Join("; ", wrong.Select(r => $"{r.Name}: {r.VerdictText} {r.Hint} maxdiff {r.MaxDiff}")));
        Assert.All(check.Rows.Where(r => r.Verdict == Verdict.Inherits), r =>
            Assert.Equal(Verdict.Undecided, check.Rows.Single(u => u.Name == r.InheritsFrom.Single()).Verdict));
    }
}
