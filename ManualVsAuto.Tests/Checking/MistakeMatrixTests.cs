using ManualVsAuto.Backward;
using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// Each classic learner mistake, placed on each line of the Exercise-1 backward where it can occur, checked through
/// the lecture check: the first failing row is the mistaken line, with the right cause, and every later failing row
/// inherits it. The correct variants raise no alarm.
/// </summary>
public class MistakeMatrixTests
{
    /// <summary>What a mistaken line sees: the forward, the line's correct gradient and the gradients before it.</summary>
    public sealed record Line(MlpParameters P, ForwardState F, Tensor Xb, Tensor D, IReadOnlyDictionary<string, Tensor> So)
    {
        public long N => Xb.shape[0];
    }

    /// <summary>The lecture's manual backward with <paramref name="line"/>'s gradient replaced by <paramref name="wrong"/>.</summary>
    public static StepByStepBackwardFunction With(string line, Func<Line, Tensor> wrong) =>
        (p, f, Xb, Yb) => StepByStepBackward.Run(p, f, Xb, Yb, (name, d, so) => name == line ? wrong(new Line(p, f, Xb, d, so)) : d);

    internal static readonly Dictionary<string, Func<Line, Tensor>> Mistakes = new()
    {
        ["factor of n at logprobs"] = l => l.D * l.N,
        ["n vs n-1 at bndiff2"] = l => (1.0 / l.N) * l.So["bnvar"].expand_as(l.F.bndiff2),
        ["missing path at counts"] = l => l.So["probs"] * l.F.counts_sum_inv,
        ["missing path at bndiff"] = l => l.So["bnraw"] * l.F.bnvar_inv,
        ["missing path at hprebn"] = l => l.So["bndiff"].clone(),
        ["missing keepdim at bnmeani"] = l => -l.So["bndiff"].sum(0, keepdim: false),
        ["missing keepdim at bngain"] = l => (l.F.bnraw * l.So["hpreact"]).sum(0, keepdim: false),
        ["missing keepdim at bnbias"] = l => l.So["hpreact"].sum(0, keepdim: false),
        ["wrong dimension at bnmeani"] = l => -l.So["bndiff"].sum(1, keepdim: true),
        ["wrong dimension at counts_sum_inv"] = l => (l.F.counts * l.So["probs"]).sum(0, keepdim: true),
        ["transposed matmul at W2"] = l => l.So["logits"].t().matmul(l.F.h),
        ["transposed matmul at W1"] = l => l.So["hprebn"].t().matmul(l.F.embcat),
        ["scatter that overwrote at C"] = l => zeros_like(l.P.C).index_put_(l.So["emb"].view(-1, l.P.C.shape[1]), l.Xb.view(-1)),
        ["values in the wrong places at emb"] = l => l.So["embcat"].view(l.N, l.F.emb.shape[2], l.F.emb.shape[1]).transpose(1, 2).contiguous(),
        ["wrong local derivative at probs"] = l => l.So["logprobs"] * l.F.probs,
        ["wrong local derivative at hpreact"] = l => (1.0 - l.F.h) * l.So["h"],
        ["wrong local derivative at bnvar"] = l => -0.5 * l.F.bnvar.pow(-1.5) * l.So["bnvar_inv"], // the dropped + eps
    };

    /// <summary>Expected cause (as in the summary) by mistake kind.</summary>
    internal static string Cause(string kind) => kind switch
    {
        "sign error" => "a sign error",
        "factor of n" => "a factor of n",
        "n vs n-1" => "n vs n−1 (Bessel's correction)",
        "missing path" => "a missing path",
        "missing keepdim" or "wrong dimension" or "transposed matmul" => "shape mismatch",
        "scatter that overwrote" => "a scatter that overwrote",
        "values in the wrong places" => "values in the wrong places",
        _ => "a wrong local derivative",
    };

    /// <summary>Words the hint must contain, by mistake kind.</summary>
    internal static string HintWords(string kind) => kind switch
    {
        "missing keepdim" => "keepdim",
        "wrong dimension" => "wrong dimension",
        "transposed matmul" => "transposed",
        "n vs n-1" => "Bessel",
        "missing path" => "missing path",
        "sign error" => "sign error",
        "factor of n" => "factor of",
        "scatter that overwrote" => "overwrote",
        "values in the wrong places" => "wrong places",
        _ => "local derivative",
    };

    // A sign error can sit on every line except the two whose true gradient is 0 (logit_maxes, b1): there it is invisible.
    private static readonly string[] SignLines = ExerciseOneTests.Names.Where(n => n is not ("logit_maxes" or "b1")).ToArray();

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var k in Mistakes.Keys) data.Add(k);
        foreach (var line in SignLines) data.Add("sign error at " + line);
        return data;
    }

    /// <summary>
    /// At batch 2 the true batchnorm gradient comes almost entirely from eps and float32 is ill-conditioned: the
    /// dropped + eps, n vs n−1 (here also a factor 2) and the batchnorm lines' mistakes are still found, and only there.
    /// </summary>
    public static TheoryData<string> SmallBatchCases() => new(
        "wrong local derivative at bnvar", "n vs n-1 at bndiff2", "missing path at bndiff", "missing path at hprebn",
        "sign error at hprebn", "sign error at bnvar_inv", "missing keepdim at bnmeani");

    [DataTheory]
    [MemberData(nameof(SmallBatchCases))]
    public void AtBatchTwoTheMistakeIsStillFoundOnItsLine(string mistake) => Verify(mistake, 2);

    private static CheckReport Run(StepByStepBackwardFunction backward, int batch = 32, ScalarType dtype = ScalarType.Float32,
        ulong seed = MlpConfig.LectureSeed, bool rerunInFloat64 = true) =>
        LectureCheck.Run(LectureFixture.Split.Train, new CheckSettings(seed, batch, Dtype: dtype, Numeric: null), backward, rerunInFloat64: rerunInFloat64);

    [DataTheory]
    [MemberData(nameof(Cases))]
    public void FirstFailingRowIsTheMistakenLineAndLaterRowsInheritIt(string mistake) => Verify(mistake, 32);

    internal static void Verify(string mistake, int batch, ScalarType dtype = ScalarType.Float32, ulong seed = MlpConfig.LectureSeed,
        bool rerunInFloat64 = true)
    {
        var (kind, line) = (mistake[..mistake.LastIndexOf(" at ", StringComparison.Ordinal)], mistake[(mistake.LastIndexOf(" at ", StringComparison.Ordinal) + 4)..]);
        var wrong = kind == "sign error" ? (l => -l.D) : Mistakes[mistake];
        var report = Run(With(line, wrong), batch, dtype, seed, rerunInFloat64);
        var rows = report.Rows.Take(LectureCheck.StepByStepRowCount).ToList();

        var failing = rows.Where(r => !r.Passed).ToList();
        Assert.NotEmpty(failing);
        var origin = failing[0];
        Assert.Equal(line, origin.Name);
        Assert.True(origin.Verdict is Verdict.Wrong or Verdict.ShapeMismatch, $"{origin.Name}: {origin.VerdictText}");
        Assert.Contains(HintWords(kind), origin.Hint);
        Assert.All(failing.Skip(1), r =>
        {
            Assert.Equal(Verdict.Inherits, r.Verdict);
            Assert.Equal([line], r.InheritsFrom);
            Assert.Null(r.Cause);
        });
        int inheriting = report.Rows.Count(r => !r.Passed) - 1;
        Assert.Equal(inheriting, report.Rows.Count(r => r.Verdict == Verdict.Inherits));
        string heirs = inheriting == 0 ? "" : $"; {inheriting} row{(inheriting == 1 ? "" : "s")} inherit{(inheriting == 1 ? "s" : "")} it";
        // At n = 2 a factor n and a factor n/(n−1) are the same number: the hint names both.
        string cause = batch == 2 && kind is "factor of n" or "n vs n-1" ? "a factor of n or n vs n−1" : Cause(kind);
        Assert.Contains($"1 mistake, at {line} ({cause}){heirs}", report.Summary);
        Assert.False(report.Passes(RequiredLevel.Approx));
    }

    [DataFact]
    public void ADroppedEpsHiddenUnderAllcloseIsStillWrongOnItsLine()
    {
        // Seed 1: the dropped + eps moves dbnvar by less than allclose's rtol, so float32 alone calls it approximate;
        // the float64 rerun does not, and the row is the origin, not the first row downstream that leaves allclose.
        var report = Run(With("bnvar", Mistakes["wrong local derivative at bnvar"]), 32, ScalarType.Float32, seed: 1);
        var bnvar = report.Rows.Single(r => r.Name == "bnvar");
        Assert.True(bnvar.Approximate);
        Assert.Equal(Verdict.Wrong, bnvar.Verdict);
        Verify("wrong local derivative at bnvar", 32, ScalarType.Float32, seed: 1);
    }

    [DataFact]
    public void TwoIndependentMistakesAreTwoOrigins()
    {
        StepByStepBackwardFunction backward = (p, f, Xb, Yb) => StepByStepBackward.Run(p, f, Xb, Yb, (name, d, so) => name switch
        {
            "probs" => -d,
            "bndiff" => so["bnraw"] * f.bnvar_inv,
            _ => d,
        });
        var report = Run(backward);
        var origins = report.Rows.Where(r => r.Verdict == Verdict.Wrong).Select(r => r.Name).ToList();
        Assert.Equal(["probs", "bndiff"], origins);
        // Rows below bndiff inherit both: the sign error reaches them through bndiff's inputs too.
        Assert.Equal(["probs", "bndiff"], report.Rows.Single(r => r.Name == "hprebn").InheritsFrom);
        Assert.Equal(["probs"], report.Rows.Single(r => r.Name == "h").InheritsFrom);
        Assert.Contains("2 mistakes, at probs (a sign error) and bndiff (a missing path);", report.Summary);
    }

    public static TheoryData<string, int> CorrectVariants() => new()
    {
        { "tanh without fma", 32 }, { "tanh without fma", 2 }, { "equivalent bnvar", 32 }, { "equivalent bnvar", 2 },
    };

    [DataTheory]
    [MemberData(nameof(CorrectVariants))]
    public void CorrectVariantsRaiseNoAlarm(string variant, int batch) => VerifyCorrect(variant, batch);

    internal static void VerifyCorrect(string variant, int batch, bool rerunInFloat64 = true)
    {
        var backward = variant == "tanh without fma"
            ? With("hpreact", l => (1.0 - l.F.h * l.F.h) * l.So["h"])
            : With("bnvar", l => -0.5 * l.F.bnvar_inv.pow(3) * l.So["bnvar_inv"]);
        var report = Run(backward, batch, rerunInFloat64: rerunInFloat64);
        Assert.All(report.Rows, r => Assert.True(r.Passed, $"{r.Name}: {r.VerdictText} {r.Hint} {r.Evidence}"));
        Assert.DoesNotContain("mistake", report.Summary);
    }
}
