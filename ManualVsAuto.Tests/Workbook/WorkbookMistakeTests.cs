using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using ManualVsAuto.Training;
using ManualVsAuto.Workbook;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using Answers = ManualVsAuto.Tests.WorkbookGraderTests.Answers;

namespace ManualVsAuto.Tests;

/// <summary>
/// What learners type, graded in-process: each mistake gets a cause that names it, and a neighbouring mistake (or
/// the right answer) does not get that cause.
/// </summary>
public class WorkbookMistakeTests
{
    private static T A<T>(object? a) => (T)a!;

    private static LectureGrade Grade(Dictionary<string, Func<object?[], object?>> e1, Dictionary<string, Func<object?[], object?>>? e3 = null,
        TimeSpan? limit = null) =>
        WorkbookGrader.GradeLecture(Answers.Of<IExercise1>(e1), Answers.Of<IExercise2>([]), Answers.Of<IExercise3>(e3 ?? []),
            LectureFixture.Split.Train, timeLimit: limit);

    private static Tensor T0(object?[] a) => A<Tensor>(a[0]);

    private static Tensor T1(object?[] a) => A<Tensor>(a[1]);

    /// <summary>dprobs = dlogprobs * probs (multiply for divide): dlogprobs is one-hot, so the difference sits on one
    /// element per row, yet it is a wrong local derivative, not "a missing path through a max"; a dlogits without
    /// the max's path (dense upstream) is still that missing path.</summary>
    [DataFact]
    public void AWrongLocalDerivativeOnAOneHotUpstreamIsNotAMissingPath()
    {
        var g = Grade(new() { ["dprobs"] = a => T0(a) * T1(a) });
        var probs = g.Line("probs");
        Assert.True(probs.Outcome == Outcome.Wrong, probs.Explain());
        Assert.DoesNotContain("missing path", probs.Explain());

        // The neighbour: a dense gradient missing one element per row (a max's path) still is that missing path.
        var gen = new Generator(3);
        var dense = randn(32, 27, generator: gen);
        var oneHot = F.one_hot(randint(0, 27, [32], generator: gen), 27).to_type(ScalarType.Float32);
        Assert.Equal("a missing path", MistakeHints.Diagnose(dense - 0.5 * oneHot, dense, [32, 27])?.Cause);
        Assert.Null(MistakeHints.Diagnose(oneHot * (rand(32, 27, generator: gen) + 2), oneHot, [32, 27])); // sparse reference: no signature
    }

    /// <summary>The lecture's literal db2 = dlogits.sum(0) binds to sum(ScalarType) (a Byte scalar): named with the
    /// fix; an int64 result elsewhere is an integer result, not that trap.</summary>
    [DataFact]
    public void ByteFromSumScalarTypeIsNamedWithItsFix()
    {
        var g = Grade(new()
        {
            ["db2"] = a => T0(a).sum(ScalarType.Byte),
            ["db1"] = a => T0(a).sum(0, keepdim: false).to_type(ScalarType.Int64),
        });
        var b2 = g.Line("b2");
        Assert.Equal(Outcome.Wrong, b2.Outcome);
        Assert.Contains("sum(ScalarType)", b2.Cause);
        Assert.Contains("write `t.sum(0, keepdim: false)`", b2.Explain());
        var b1 = g.Line("b1");
        Assert.Equal(Outcome.Wrong, b1.Outcome);
        Assert.Equal("an integer result (Int64)", b1.Cause);
    }

    /// <summary>keepdim in both directions, each naming the fix that applies, and never the bare .sum(0) trap.</summary>
    [DataFact]
    public void KeepdimIsNamedInTheDirectionThatApplies()
    {
        var g = Grade(new()
        {
            ["dbnbias"] = a => T0(a).sum(0, keepdim: false),  // (64) for (1, 64)
            ["db2"] = a => T0(a).sum(0, keepdim: true),       // (1, 27) for (27)
        });
        Assert.Equal("a missing keepdim: true", g.Line("bnbias").Cause);
        Assert.Contains("write .sum(0, keepdim: true)", g.Line("bnbias").Explain());
        Assert.Equal("keepdim: true where the tensor has none", g.Line("b2").Cause);
        Assert.Contains("write .sum(0, keepdim: false)", g.Line("b2").Explain());
        Assert.DoesNotContain(".sum(0) ", g.Line("b2").Explain() + g.Line("bnbias").Explain());
    }

    /// <summary>The lecture's dlogprobs[range(n), Yb] = -1.0/n as an index_put_ of a double: ERROR with the fix that
    /// also runs in float64; the (float) cast passes its own line but fails the float64 rerun, and a row decided
    /// there says it is dlogprobs that fails, not the row itself.</summary>
    [DataFact]
    public void ADoubleIntoAFloatTensorIsNamedAndAFloat64FailureNamesItsAnswer()
    {
        Tensor Put(object?[] a, Func<Tensor, long, Tensor> values)
        {
            var (logprobs, yb, n) = (T0(a), T1(a), A<long>(a[2]));
            var d = zeros_like(logprobs);
            d.index_put_(values(logprobs, n), arange(n), yb);
            return d;
        }
        var g = Grade(new() { ["dlogprobs"] = a => Put(a, (_, n) => full([n], -1.0 / n, dtype: ScalarType.Float64)) });
        var line = g.Line("logprobs");
        Assert.Equal(Outcome.Error, line.Outcome);
        Assert.Equal("a double value put into a float tensor (dtype)", line.Cause);
        Assert.Contains("full([n], -1.0 / n, dtype: logprobs.dtype)", line.Explain());

        // The float-only fix: exact on its own line; dprobs · 1.0001 is decided in float64 through the chain, which
        // breaks at dlogprobs.
        var cast = Grade(new()
        {
            ["dlogprobs"] = a => Put(a, (_, n) => tensor((float)(-1.0 / n))),
            ["dprobs"] = a => T0(a) / T1(a) * 1.0001,
        });
        Assert.Equal(Outcome.Exact, cast.Line("logprobs").Outcome);
        var chained = cast.Chained[1];
        Assert.Contains("not decided in float64: your ddlogprobs fails there".Replace("ddlogprobs", "dlogprobs"), chained.Row!.Evidence);
    }

    /// <summary>Exercise 3 with n / (n - 1) on longs (1: integer division) is named so; a wrong factor 2 is not.</summary>
    [DataFact]
    public void IntegerDivisionInExercise3IsNamed()
    {
        Tensor Bn(object?[] a, Func<long, double> bessel)
        {
            var (dhpreact, bngain, bnvar_inv, bnraw, n) = (T0(a), T1(a), A<Tensor>(a[2]), A<Tensor>(a[3]), A<long>(a[4]));
            return bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0, keepdim: false) - bessel(n) * bnraw * (dhpreact * bnraw).sum(0, keepdim: false));
        }
        var integer = Grade([], new() { ["dhprebn"] = a => Bn(a, n => n / (n - 1)) }).BatchNorm;
        Assert.Equal(Outcome.Wrong, integer.Outcome);
        Assert.Equal("a factor n/(n−1) that is 1 — integer division?", integer.Cause);
        Assert.Contains("write n / (n - 1.0)", integer.Explain());
        var twice = Grade([], new() { ["dhprebn"] = a => 2 * Bn(a, n => n / (n - 1.0)) }).BatchNorm;
        Assert.Equal(Outcome.Wrong, twice.Outcome);
        Assert.DoesNotContain("integer division", twice.Explain());
        Assert.True(Grade([], new() { ["dhprebn"] = a => Bn(a, n => n / (n - 1.0)) }).BatchNorm.Passed);
    }

    /// <summary>dhprebn with = where += adds the second path: a missing path, saying to add (+=).</summary>
    [DataFact]
    public void AnAssignmentWhereASecondPathMustBeAddedIsAMissingPath()
    {
        var g = Grade(new() { ["dcounts"] = a => T0(a) * T1(a) }); // the dcounts_sum path left out
        var counts = g.Line("counts");
        Assert.Equal(Outcome.Wrong, counts.Outcome);
        Assert.Contains("missing path", counts.Explain());
        Assert.DoesNotContain("missing path", g.Line("probs").Explain()); // a blank
    }

    /// <summary>dbngain = dhpreact.mul_(bnraw).sum(0, keepdim: true) has the right value but changes dhpreact: WRONG
    /// with the damage named; the same without the underscore is exact; an add_ without clone in dlogits too.</summary>
    [DataFact]
    public void InPlaceDamageIsWrongEvenWhenTheValueIsRight()
    {
        var g = Grade(new()
        {
            ["dbngain"] = a => T0(a).mul_(T1(a)).sum(0, keepdim: true),
            ["dbnbias"] = a => T0(a).sum(0, keepdim: true),
            ["dlogits"] = a => T0(a).add_(F.one_hot(A<Tensor>(a[2]).argmax(1), 27).to_type(ScalarType.Float32) * T1(a)),
        });
        var bngain = g.Line("bngain");
        Assert.Equal(Outcome.Wrong, bngain.Outcome);
        Assert.True(bngain.Row!.Exact); // its own value is right
        Assert.Equal("changed dhpreact in place (mul_)", bngain.Cause);
        Assert.Contains("your dbngain changed dhpreact in place (mul_); in the notebook this corrupts dbnbias and dbnraw — use dhpreact * bnraw", bngain.Explain());
        Assert.True(g.Line("bnbias").Passed);
        var logits = g.Line("logits");
        Assert.Equal(Outcome.Wrong, logits.Outcome);
        Assert.StartsWith("changed dnorm_logits in place", logits.Cause);

        var right = Grade(new() { ["dbngain"] = a => (T0(a) * T1(a)).sum(0, keepdim: true) });
        Assert.Equal(Outcome.Exact, right.Line("bngain").Outcome);
    }

    /// <summary>An answer that returns its input itself is caught (an alias); a view of it (the lecture's demb) is not.</summary>
    [DataFact]
    public void ReturningAnInputItselfIsAnAlias()
    {
        var g = Grade(new()
        {
            ["dlogit_maxes"] = a => T0(a),
            ["demb"] = a => T0(a).view(T1(a).shape),
        });
        Assert.Equal("returned dnorm_logits itself (an alias)", g.Line("logit_maxes").Cause);
        Assert.Equal(Outcome.Exact, g.Line("emb").Outcome);
    }

    /// <summary>An answer that never returns is ERROR after the limit, and the rest is still graded.</summary>
    [DataFact]
    public void AnAnswerThatLoopsForeverTimesOut()
    {
        var g = Grade(new()
        {
            ["dh"] = _ => { while (true) Thread.Sleep(10); },
            ["dbnbias"] = a => T0(a).sum(0, keepdim: true),
        }, limit: TimeSpan.FromSeconds(1));
        Assert.Equal((Outcome.Error, "timed out after 1 s"), (g.Line("h").Outcome, g.Line("h").Cause));
        Assert.True(g.Line("bnbias").Passed);
    }

    /// <summary>Exercise 4: a backward that keeps its gradients across calls (never zeroed) is named at step 1, where it
    /// first differs; a backward off by a factor is not called that.</summary>
    [DataFact]
    public void AnAccumulatingBackwardIsNamed()
    {
        MlpParameters? sum = null;
        MlpParameters Accumulating(MlpParameters p, Tensor Xb, Tensor Yb)
        {
            using var trainer = new LoopStepTrainer(p);
            var g = trainer.Gradients(Xb, Yb).Map(t => t.clone());
            sum = sum is null ? g : new MlpParameters(sum.C + g.C, sum.W1 + g.W1, sum.b1 + g.b1, sum.W2 + g.W2, sum.b2 + g.b2, sum.bngain + g.bngain, sum.bnbias + g.bnbias);
            return sum;
        }
        var grade = WorkbookGrader.GradeTraining(Answers.Of<IExercise4>(new() { ["Backward"] = a => Accumulating(A<MlpParameters>(a[0]), A<Tensor>(a[2]), A<Tensor>(a[3])) }),
            LectureFixture.Split.Train, steps: 5);
        Assert.Equal(Outcome.Wrong, grade.Outcome);
        Assert.Contains("at step 1", grade.Cause);
        Assert.Contains("accumulates", grade.Cause);
        Assert.Contains("equals the sum of autograd's gradients of steps 0–1: the gradients were never zeroed — PyTorch and TorchSharp accumulate them", grade.Explain());

        MlpParameters Scaled(MlpParameters p, Tensor Xb, Tensor Yb)
        {
            using var trainer = new LoopStepTrainer(p);
            return trainer.Gradients(Xb, Yb).Map(t => t * 2);
        }
        var scaled = WorkbookGrader.GradeTraining(Answers.Of<IExercise4>(new() { ["Backward"] = a => Scaled(A<MlpParameters>(a[0]), A<Tensor>(a[2]), A<Tensor>(a[3])) }),
            LectureFixture.Split.Train, steps: 5);
        Assert.Equal(Outcome.Wrong, scaled.Outcome);
        Assert.DoesNotContain("never zeroed", scaled.Explain());
        Assert.DoesNotContain("share only", scaled.Explain());
    }

    /// <summary>Exercise 4 with dhprebn = dbndiff (= where += adds bnmeani's path): named as one consumer's share only,
    /// at the first parameter it reaches in backward order (b1), with the tensor and its two uses.</summary>
    [DataFact]
    public void OneConsumersShareInExercise4IsNamed()
    {
        MlpParameters Backward(MlpParameters p, TrainingForwardState f, Tensor Xb, Tensor Yb)
        {
            long n = Xb.shape[0];
            var dlogits = (F.softmax(f.logits, 1) - F.one_hot(Yb, 27).to_type(f.logits.dtype)) / n;
            var dh = dlogits.mm(p.W2.t());
            var dhpreact = (1.0 - f.h * f.h) * dh;
            var dbnraw = p.bngain * dhpreact;
            // dbndiff of the lecture's chain: through bnraw and through bnvar (bndiff2); its bnmeani path is left out.
            var dbnvar_inv = (dbnraw * f.bnraw / f.bnvar_inv).sum(0, keepdim: true);
            var dbnvar = -0.5 * f.bnvar_inv.pow(3) * dbnvar_inv;
            var dhprebn = dbnraw * f.bnvar_inv + 2.0 * (f.bnraw / f.bnvar_inv) * (1.0 / (n - 1)) * dbnvar;
            var dembcat = dhprebn.mm(p.W1.t());
            return new MlpParameters(zeros_like(p.C).index_add_(0, Xb.view(-1), dembcat.view(-1, p.C.shape[1]), 1.0),
                f.embcat.t().mm(dhprebn), dhprebn.sum(0, keepdim: false), f.h.t().mm(dlogits), dlogits.sum(0, keepdim: false),
                (f.bnraw * dhpreact).sum(0, keepdim: true), dhpreact.sum(0, keepdim: true));
        }
        var grade = WorkbookGrader.GradeTraining(Answers.Of<IExercise4>(new() { ["Backward"] = a => Backward(A<MlpParameters>(a[0]), A<TrainingForwardState>(a[1]), A<Tensor>(a[2]), A<Tensor>(a[3])) }),
            LectureFixture.Split.Train, steps: 3);
        Assert.Equal(Outcome.Wrong, grade.Outcome);
        Assert.Equal("at step 0: db1: one consumer's share only (= for +=)", grade.Cause);
        Assert.Contains("hprebn is used twice (by bnmeani and bndiff), and dhprebn got one consumer's share only — add the gradients of both uses (+=, not =)", grade.Explain());
    }

    /// <summary>Exercise 1 answered in full (the lecture's lines), to plant one mistake in.</summary>
    private static Dictionary<string, Func<object?[], object?>> Solution()
    {
        Tensor X(object?[] a, int i) => A<Tensor>(a[i]);
        return new()
        {
            ["dlogprobs"] = a => zeros_like(X(a, 0)).index_put_(full([(long)a[2]!], -1.0 / (long)a[2]!, dtype: X(a, 0).dtype), arange((long)a[2]!), X(a, 1)),
            ["dprobs"] = a => X(a, 0) / X(a, 1),
            ["dcounts_sum_inv"] = a => (X(a, 1) * X(a, 0)).sum(1, keepdim: true),
            ["dcounts_sum"] = a => -X(a, 1).pow(-2) * X(a, 0),
            ["dcounts"] = a => X(a, 1) * X(a, 0) + ones_like(X(a, 3)) * X(a, 2),
            ["dnorm_logits"] = a => X(a, 1) * X(a, 0),
            ["dlogit_maxes"] = a => -X(a, 0).sum(1, keepdim: true),
            ["dlogits"] = a => X(a, 0).clone() + F.one_hot(X(a, 2).max(1).indexes, X(a, 2).shape[1]) * X(a, 1),
            ["dh"] = a => X(a, 0).matmul(X(a, 1).t()),
            ["dW2"] = a => X(a, 1).t().matmul(X(a, 0)),
            ["db2"] = a => X(a, 0).sum(0, keepdim: false),
            ["dhpreact"] = a => (1.0 - X(a, 1) * X(a, 1)) * X(a, 0),
            ["dbngain"] = a => (X(a, 1) * X(a, 0)).sum(0, keepdim: true),
            ["dbnbias"] = a => X(a, 0).sum(0, keepdim: true),
            ["dbnraw"] = a => X(a, 1) * X(a, 0),
            ["dbnvar_inv"] = a => (X(a, 1) * X(a, 0)).sum(0, keepdim: true),
            ["dbnvar"] = a => -0.5 * (X(a, 1) + (double)a[2]!).pow(-1.5) * X(a, 0),
            ["dbndiff2"] = a => 1.0 / ((long)a[2]! - 1) * ones_like(X(a, 1)) * X(a, 0),
            ["dbndiff"] = a => X(a, 1) * X(a, 0) + 2 * X(a, 3) * X(a, 2),
            ["dbnmeani"] = a => -X(a, 0).sum(0, keepdim: true),
            ["dhprebn"] = a => X(a, 0).clone() + 1.0 / (long)a[3]! * ones_like(X(a, 2)) * X(a, 1),
            ["dembcat"] = a => X(a, 0).matmul(X(a, 1).t()),
            ["dW1"] = a => X(a, 1).t().matmul(X(a, 0)),
            ["db1"] = a => X(a, 0).sum(0, keepdim: false),
            ["demb"] = a => X(a, 0).view(X(a, 1).shape),
            ["dC"] = a => zeros_like(X(a, 1)).index_add_(0, X(a, 2).view(-1), X(a, 0).view(-1, X(a, 1).shape[1]), 1),
        };
    }

    /// <summary>
    /// The check's hints reach the workbook: an overwriting scatter for dC (index_put_ for index_add_) is named as the
    /// check names it, from dC's local reference; the neighbouring mistake, a factor 2 in dC, is not called a scatter.
    /// </summary>
    [DataFact]
    public void AnOverwritingScatterForDCIsNamedAsTheCheckNamesIt()
    {
        var answers = Solution();
        answers["dC"] = a => zeros_like(A<Tensor>(a[1])).index_put_(A<Tensor>(a[0]).view(-1, A<Tensor>(a[1]).shape[1]), A<Tensor>(a[2]).view(-1));
        var c = Grade(answers).Line("C");
        Assert.Equal(Outcome.Wrong, c.Outcome);
        Assert.Equal("a scatter that overwrote", c.Cause);
        Assert.Contains("index_add_", c.Explain());

        var doubled = Solution();
        doubled["dC"] = a => 2 * zeros_like(A<Tensor>(a[1])).index_add_(0, A<Tensor>(a[2]).view(-1), A<Tensor>(a[0]).view(-1, A<Tensor>(a[1]).shape[1]), 1);
        var d = Grade(doubled).Line("C");
        Assert.Equal(Outcome.Wrong, d.Outcome);
        Assert.DoesNotContain("overwrote", d.Explain());
    }

    /// <summary>
    /// A mistake in the chain: the chained column says where the rows below it inherit it from ("inherits ← dprobs"),
    /// not WRONG on every row; the full solution is 26/26 on its own and its chain has no inherits.
    /// </summary>
    [DataFact]
    public void TheChainedColumnSaysWhichLineARowInheritsFrom()
    {
        var right = Grade(Solution());
        Assert.All(right.Lines, l => Assert.True(l.Passed, l.Explain()));
        Assert.DoesNotContain(right.Chained, c => c.Row?.Verdict == Verdict.Inherits);

        var answers = Solution();
        answers["dprobs"] = a => -A<Tensor>(a[0]) / A<Tensor>(a[1]);
        var g = Grade(answers);
        int at = WorkbookGrader.Names.ToList().IndexOf("probs");
        Assert.Equal(Outcome.Wrong, g.Chained[at].Outcome);
        Assert.NotEqual(Verdict.Inherits, g.Chained[at].Row!.Verdict);
        var below = g.Chained.Skip(at + 1).Where(c => !c.Passed).ToList();
        Assert.NotEmpty(below);
        Assert.All(below, c => Assert.Equal(["probs"], c.Row!.InheritsFrom));
        var text = WorkbookReport.ToText(g, new Grade("training", "Exercise4", "300 steps", Outcome.NotAttempted, false));
        Assert.Contains("inherits ← dprobs", text);
    }
}
