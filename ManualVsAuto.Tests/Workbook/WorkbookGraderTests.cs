using System.Reflection;
using ManualVsAuto.Model;
using ManualVsAuto.Training;
using ManualVsAuto.Workbook;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>The grading engine in-process, on answers that misbehave in the ways a learner's can.</summary>
public class WorkbookGraderTests
{
    /// <summary>Answers an exercise interface from a table by method name; a method not in it is a blank.</summary>
    public class Answers : DispatchProxy
    {
        public Dictionary<string, Func<object?[], object?>> ByName { get; } = [];

        public static T Of<T>(Dictionary<string, Func<object?[], object?>> byName) where T : class
        {
            var proxy = Create<T, Answers>();
            foreach (var (k, v) in byName) ((Answers)(object)proxy).ByName[k] = v;
            return proxy;
        }

        protected override object? Invoke(MethodInfo? method, object?[]? args) =>
            ByName.TryGetValue(method!.Name, out var f) ? f(args!) : throw new NotAttempted();
    }

    [DataFact]
    public void BlankNullThrowingAndMisshapedAnswersAreGradedApart()
    {
        var e1 = Answers.Of<IExercise1>(new()
        {
            ["dprobs"] = _ => null,                                                          // null: wrong, not a blank
            ["dh"] = _ => throw new InvalidOperationException("my own bug"),                // an exception: error
            ["dbngain"] = a => ((Tensor)a[1]! * (Tensor)a[0]!).sum(0, keepdim: false),     // keepdim forgotten: wrong
            ["dbnbias"] = a => ((Tensor)a[0]!).sum(0, keepdim: true),                      // right
        });
        var blank = Answers.Of<IExercise2>([]);
        var g = WorkbookGrader.GradeLecture(e1, blank, Answers.Of<IExercise3>([]), LectureFixture.Split.Train);

        Assert.Equal((Outcome.Wrong, "returned null"), (g.Line("probs").Outcome, g.Line("probs").Cause));
        var error = g.Line("h");
        Assert.Equal(Outcome.Error, error.Outcome);
        Assert.Contains("my own bug", error.Cause);
        var wrong = g.Line("bngain");
        Assert.Equal(Outcome.Wrong, wrong.Outcome);
        Assert.Contains("keepdim", wrong.Cause);
        Assert.True(g.Line("bnbias").Passed);
        Assert.Equal(22, g.Lines.Count(l => l.Outcome == Outcome.NotAttempted));
        Assert.DoesNotContain(g.Lines, l => l.Passed && l.Name != "bnbias"); // a blank never passes
        Assert.StartsWith("1/26 exact · 2 wrong (probs: returned null; bngain: a missing keepdim: true) · ", g.Progress);
        Assert.EndsWith(" · 1 error (h: InvalidOperationException: my own bug) · 22 not attempted", g.Progress);
        // Chained: bnbias needs dhpreact, which is a blank here.
        Assert.Equal(Outcome.NeedsUpstream, g.Chained[WorkbookGrader.Names.ToList().IndexOf("bnbias")].Outcome);
        Assert.Equal(Outcome.NotAttempted, g.CrossEntropy.Outcome);
    }

    /// <summary>A wrong Exercise 3 gets its detail line (worst element, both values) under the fused table, as a wrong
    /// Exercise-1 line does under its table; a right Exercise 2 beside it gets none.</summary>
    [DataFact]
    public void AWrongFusedAnswerHasItsDetailLineInTheReport()
    {
        var e2 = Answers.Of<IExercise2>(new()
        {
            ["dlogits"] = a => (nn.functional.softmax((Tensor)a[0]!, 1) - nn.functional.one_hot((Tensor)a[1]!, 27)) / (long)a[2]!,
        });
        var e3 = Answers.Of<IExercise3>(new()
        {
            ["dhprebn"] = a => 2 * ManualVsAuto.Backward.FusedBackward.BatchNorm((Tensor)a[0]!, (Tensor)a[1]!, (Tensor)a[2]!, (Tensor)a[3]!),
        });
        var g = WorkbookGrader.GradeLecture(Answers.Of<IExercise1>([]), e2, e3, LectureFixture.Split.Train);
        Assert.True(g.CrossEntropy.Passed);
        Assert.Equal(Outcome.Wrong, g.BatchNorm.Outcome);
        var text = WorkbookReport.ToText(g, new Grade("training", "Exercise4", "300 steps", Outcome.NotAttempted, false));
        var details = text.Split('\n').Where(l => l.TrimStart().StartsWith("hprebn (fused BN): WRONG", StringComparison.Ordinal)).ToList();
        Assert.Single(details);
        Assert.Contains("worst at [", details[0]);
        Assert.DoesNotContain(text.Split('\n'), l => l.TrimStart().StartsWith("logits (fused CE):", StringComparison.Ordinal));
    }

    /// <summary>
    /// dbndiff2 with the classic 1/n for 1/(n−1) is wrong with Bessel's correction as its cause, in the table and the
    /// progress line; a factor 2 on the same line is wrong without it. The lecture's own dhpreact, (1 − h²)·dh without
    /// autograd's fused multiply-add, passes as approximate.
    /// </summary>
    [DataFact]
    public void BesselIsNamedOnlyForNVersusNMinusOneAndTheLecturesDhpreactPassesAsApproximate()
    {
        Tensor Bndiff2(object?[] a, double k) => k / (long)a[2]! * ((Tensor)a[0]!).expand_as((Tensor)a[1]!);
        IExercise1 Answer(double k) => Answers.Of<IExercise1>(new()
        {
            ["dbndiff2"] = a => Bndiff2(a, k * (long)a[2]! / ((long)a[2]! - 1.0)),
            ["dhpreact"] = a => (1.0 - (Tensor)a[1]! * (Tensor)a[1]!) * (Tensor)a[0]!,
        });
        var train = LectureFixture.Split.Train;
        var e2 = Answers.Of<IExercise2>([]);
        var e3 = Answers.Of<IExercise3>([]);

        var bessel = WorkbookGrader.GradeLecture(Answer(31.0 / 32), e2, e3, train); // 1/n for 1/(n−1) at n = 32
        var factor2 = WorkbookGrader.GradeLecture(Answer(2), e2, e3, train);

        var wrong = bessel.Line("bndiff2");
        Assert.True(wrong.Outcome == Outcome.Wrong && !wrong.Passed, wrong.Explain());
        Assert.Equal("n vs n−1 (Bessel's correction)", wrong.Cause);
        Assert.Contains("1/(n−1) = 1/31, not 1/n = 1/32", wrong.Explain());
        Assert.Equal("0/26 exact · 1 approximate · 1 wrong (bndiff2: n vs n−1 (Bessel's correction)) · 24 not attempted", bessel.Progress);
        var twice = factor2.Line("bndiff2");
        Assert.Equal(Outcome.Wrong, twice.Outcome);
        Assert.DoesNotContain("Bessel", twice.Explain());
        Assert.DoesNotContain("n−1", twice.Cause);

        var dhpreact = bessel.Line("hpreact");
        Assert.Equal((Outcome.Approximate, true, "approximate"), (dhpreact.Outcome, dhpreact.Passed, dhpreact.Verdict));
    }

    /// <summary>
    /// Lines decided in float64, as the check's rows: dhprebn through (dbndiff + 1) − 1 is right maths that float32
    /// rounds outside allclose, so it passes (ill-conditioned in float32); the same with 1/(n−1) is wrong in both; a
    /// dbnbias 2e-6 too large is allclose in float32 but wrong in float64.
    /// </summary>
    [DataFact]
    public void ALineRightInFloat64IsNotCalledWrongAndOneWrongInFloat64IsEvenWithinAllclose()
    {
        Tensor Hprebn(object?[] a, double m) =>
            (Tensor)a[0]! + 1.0 - 1.0 + 1.0 / ((long)a[3]! - m) * ((Tensor)a[1]!).expand_as((Tensor)a[2]!);
        IExercise1 Answer(double m) => Answers.Of<IExercise1>(new()
        {
            ["dhprebn"] = a => Hprebn(a, m),
            ["dbnbias"] = a => ((Tensor)a[0]!).sum(0, keepdim: true) * (1 + 2e-6),
        });
        var train = LectureFixture.Split.Train;
        var e2 = Answers.Of<IExercise2>([]);
        var e3 = Answers.Of<IExercise3>([]);

        var right = WorkbookGrader.GradeLecture(Answer(0), e2, e3, train).Line("hprebn");
        Assert.True(right.Row is not null, right.Explain());
        Assert.False(right.Row!.Approximate, "float32 should round this formula outside allclose");
        Assert.Equal((Outcome.Approximate, true, Checking.Verdict.IllConditioned), (right.Outcome, right.Passed, right.Row.Verdict));
        Assert.Contains("float64: max|manual − autograd|", right.Row.Evidence);

        var g = WorkbookGrader.GradeLecture(Answer(1), e2, e3, train);
        Assert.Equal((Outcome.Wrong, false), (g.Line("hprebn").Outcome, g.Line("hprebn").Passed));
        var bnbias = g.Line("bnbias");
        Assert.True(bnbias.Row!.Approximate); // allclose in float32 …
        Assert.Equal((Outcome.Wrong, false), (bnbias.Outcome, bnbias.Passed)); // … but not autograd's formula in float64
        Assert.Contains("but in float64", bnbias.Row.Evidence);
    }

    /// <summary>
    /// A shape error libtorch raises inside <c>mm</c> is an exception the grader catches (an ERROR line naming it),
    /// unlike one inside TorchSharp's native <c>matmul</c>, which ends the process (not testable in-process); for 2-D
    /// operands <c>mm</c> is bitwise <c>matmul</c>, as the workbook's notes say.
    /// </summary>
    [DataFact]
    public void AShapeErrorInsideMmIsGradedAsAnError()
    {
        var e1 = Answers.Of<IExercise1>(new() { ["dh"] = a => ((Tensor)a[0]!).mm((Tensor)a[1]!) }); // W2 without .t()
        var g = WorkbookGrader.GradeLecture(e1, Answers.Of<IExercise2>([]), Answers.Of<IExercise3>([]), LectureFixture.Split.Train);
        var dh = g.Line("h");
        Assert.Equal((Outcome.Error, false), (dh.Outcome, dh.Passed));
        // The cause fits the table (about 60 characters); the detail line carries the whole message.
        Assert.StartsWith("ExternalException: mat1 and mat2 shapes cannot be multipl", dh.Cause);
        Assert.True(dh.Cause!.Length <= 60, dh.Cause);
        Assert.Equal("ExternalException: mat1 and mat2 shapes cannot be multiplied (32x27 and 64x27)", dh.Detail);

        var gen = new Generator(1);
        var (x, w) = (randn(32, 64, generator: gen), randn(64, 27, generator: gen));
        Assert.True(x.mm(w).eq(x.matmul(w)).all().item<bool>());
    }

    /// <summary>Exercise 4 with the library's own training backward as the answer: it passes; scaled by 1.01 in one
    /// parameter, it fails at the first step naming that parameter; a blank is not attempted.</summary>
    [DataFact]
    public void TrainingIsJudgedStepByStepAgainstAutograd()
    {
        MlpParameters Reference(MlpParameters p, Tensor Xb, Tensor Yb)
        {
            using var trainer = new LoopStepTrainer(p);
            return trainer.Gradients(Xb, Yb);
        }
        var right = Answers.Of<IExercise4>(new() { ["Backward"] = a => Reference((MlpParameters)a[0]!, (Tensor)a[2]!, (Tensor)a[3]!) });
        var scaled = Answers.Of<IExercise4>(new()
        {
            ["Backward"] = a => Reference((MlpParameters)a[0]!, (Tensor)a[2]!, (Tensor)a[3]!) is var r ? r with { bngain = r.bngain * 1.01 } : null,
        });
        var train = LectureFixture.Split.Train;

        var pass = WorkbookGrader.GradeTraining(right, train, steps: 50);
        Assert.True(pass.Passed, pass.Explain());
        var fail = WorkbookGrader.GradeTraining(scaled, train, steps: 50);
        Assert.False(fail.Passed);
        Assert.Equal(Outcome.Wrong, fail.Outcome);
        Assert.StartsWith("at step 0: dbngain", fail.Message);
        // Every gradient off by the same factor, as a dlogits off by one would make them: named at b2, the first in
        // backward order, not at C (the lecture's parameter order).
        var allScaled = Answers.Of<IExercise4>(new()
        {
            ["Backward"] = a => Reference((MlpParameters)a[0]!, (Tensor)a[2]!, (Tensor)a[3]!).Map(g => g * 1.5),
        });
        Assert.StartsWith("at step 0: db2 ", WorkbookGrader.GradeTraining(allScaled, train, steps: 5).Message);
        Assert.Equal(Outcome.NotAttempted, WorkbookGrader.GradeTraining(Answers.Of<IExercise4>([]), train, steps: 50).Outcome);
    }
}
