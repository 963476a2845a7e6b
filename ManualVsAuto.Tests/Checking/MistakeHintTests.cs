using ManualVsAuto.Backward;
using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>Each diagnostic hint is triggered by a purpose-made mistake on the lecture's MLP.</summary>
public class MistakeHintTests : IDisposable
{
    private readonly LectureBatch batch = new();
    private GradientCheck check => batch.Check;
    private ForwardState f => batch.F;
    private IReadOnlyDictionary<string, Tensor> d => batch.D;

    public void Dispose() => batch.Dispose();

    private GradientRow Fails(string name, Tensor manual)
    {
        var row = check.Compare(name, manual);
        Assert.False(row.Approximate);
        Assert.NotNull(row.Hint);
        return row;
    }

    [DataFact]
    public void CorrectRowsHaveNoHint() => Assert.Null(check.Compare("W1", d["W1"]).Hint);

    [DataFact]
    public void KeepdimMistakeIsNamedInTheShapeMismatchRow()
    {
        var row = check.Compare("bnbias", d["hpreact"].sum(0, keepdim: false));
        Assert.Equal(Verdict.ShapeMismatch, row.Verdict);
        Assert.Contains("keepdim", row.Hint);
        Assert.DoesNotContain("wrong dimension", row.Hint);
    }

    [DataFact]
    public void ReductionOverTheWrongDimensionIsNamedAndIsNotCalledKeepdim()
    {
        // dbnmeani summed over the features instead of the batch: (32, 1) where bnmeani is (1, 64).
        var row = check.Compare("bnmeani", -d["bndiff"].sum(1, keepdim: true));
        Assert.Equal(Verdict.ShapeMismatch, row.Verdict);
        Assert.Contains("wrong dimension", row.Hint);
        Assert.DoesNotContain("keepdim", row.Hint);
    }

    [DataFact]
    public void ASizeOneDimensionInTheWrongPlaceIsAWrongDimensionNotATranspose()
    {
        // (64, 1) where the tensor is (1, 64) also reads as a transpose; a reduction over the wrong dimension is the mistake.
        var hint = MistakeHints.ForShapes([64, 1], [1, 64]);
        Assert.Contains("wrong dimension", hint);
        Assert.DoesNotContain("transposed", hint);
        Assert.DoesNotContain("keepdim", hint);
        Assert.Contains("transposed", MistakeHints.ForShapes([27, 64], [64, 27]));
    }

    [DataFact]
    public void TransposedShapeIsNamed()
    {
        var row = check.Compare("W2", d["W2"].t());
        Assert.Equal(Verdict.ShapeMismatch, row.Verdict);
        Assert.Contains("transposed", row.Hint);
        Assert.DoesNotContain("keepdim", row.Hint);
    }

    [DataFact]
    public void TransposedSquareMatmulIsNamed()
    {
        // dW = x.T @ dy vs dy.T @ x for a square weight: same shape, transposed values.
        using var s = NewDisposeScope();
        var x = randn(8, 5, dtype: ScalarType.Float64);
        var W = randn(5, 5, dtype: ScalarType.Float64).requires_grad_(true);
        var c = new GradientCheck();
        c.Track("W", W);
        var y = x.matmul(W);
        var loss = (y * y).sum();
        c.Backward(loss);
        var dy = 2 * y.detach();
        var row = c.Compare("W", dy.t().matmul(x));
        Assert.False(row.Approximate);
        Assert.Contains("transpose", row.Hint);
    }

    [DataFact]
    public void SignErrorIsNamed() => Assert.Contains("sign error", Fails("h", -d["h"]).Hint);

    [DataFact]
    public void FactorOfNIsNamed()
    {
        // Forgetting the 1/n of the mean: every gradient is n = 32 times too large.
        var hint = Fails("logits", d["logits"] * 32).Hint!;
        Assert.Contains("factor of 32", hint);
        Assert.Contains("1/n", hint);
    }

    [DataFact]
    public void OtherConstantFactorIsNamed() => Assert.Contains("constant factor", Fails("W2", d["W2"] * 1.5).Hint);

    [DataFact]
    public void MissingBroadcastPathIsNamed()
    {
        // counts also feeds counts_sum; without that path the difference is constant along each row.
        var hint = Fails("counts", d["probs"] * f.counts_sum_inv).Hint!;
        Assert.Contains("missing path", hint);
        Assert.Contains("used twice", hint);
    }

    [DataFact]
    public void MissingMaxPathIsNamed()
    {
        // In the lecture dlogit_maxes is ~0 (softmax rows sum to 1), so dropping it goes unnoticed there;
        // here x feeds a max that matters: without that path the difference sits on each row's argmax.
        using var s = NewDisposeScope();
        var x = randn(6, 5, dtype: ScalarType.Float64).requires_grad_(true);
        var c = new GradientCheck();
        c.Track("x", x);
        var loss = (x * x).sum() + 3.0 * x.max(1, keepdim: false).values.sum();
        c.Backward(loss);
        var row = c.Compare("x", 2 * x.detach());
        Assert.False(row.Approximate);
        Assert.Contains("max", row.Hint);
    }

    [DataFact]
    public void AllZeroGradientIsNamed() => Assert.Contains("all zeros", Fails("C", zeros_like(d["C"])).Hint);

    [DataFact]
    public void DiagnosticsLocateTheWorstElement()
    {
        var wrong = d["W1"].clone();
        wrong[3, 7] = wrong[3, 7] + 0.5f;
        var row = check.Compare("W1", wrong);
        Assert.False(row.Approximate);
        Assert.Equal(new long[] { 3, 7 }, row.WorstIndex);
        Assert.Equal(1, row.Mismatches);
        Assert.Equal(1, row.NotClose);
        Assert.Equal(0.5, row.MaxDiff, 5);
        Assert.Equal(row.ReferenceAtWorst + 0.5, row.ManualAtWorst, 5);
        Assert.True(row.Ulps > 1000);
    }

    // Each hint beside the mistake next to it: the one must not fire for the other. (The mistake matrix also pins
    // every classic mistake's cause on every line it can sit on.)
    private static readonly long[] Batch = [32, 64];

    private static Tensor Reference() => randn([32, 64], dtype: ScalarType.Float64, generator: new Generator(3));

    [DataFact]
    public void FactorOfNIsNotCalledBessel()
    {
        var r = Reference();
        var hint = MistakeHints.Diagnose(r / 32, r, Batch)!;
        Assert.Equal("a factor of n", hint.Cause);
        Assert.DoesNotContain("Bessel", hint.Text);
    }

    [DataFact]
    public void BesselIsNotCalledAFactorOfN()
    {
        // dbndiff2 with 1/n where the variance has 1/(n−1): the manual gradient is (n−1)/n of autograd's.
        var r = Reference();
        var hint = MistakeHints.Diagnose(r * 31 / 32, r, Batch)!;
        Assert.Equal("n vs n−1 (Bessel's correction)", hint.Cause);
        Assert.Contains("32/31", hint.Text);
        Assert.DoesNotContain("factor of 32", hint.Text);
    }

    [DataFact]
    public void ANearlyEqualGradientIsNeverAFactorOne()
    {
        var r = Reference();
        var hint = MistakeHints.Diagnose(r * 1.0005, r, Batch);
        Assert.DoesNotContain("factor", hint?.Text ?? "");
        Assert.Null(MistakeHints.Diagnose(r * (1 + 1e-6), r, Batch)); // below the hints' resolution: no signature
    }

    [DataFact]
    public void AFactorThatIsNotASizeIsAConstantNotN()
    {
        var hint = MistakeHints.Diagnose(Reference() * 2.5, Reference(), Batch)!;
        Assert.Equal("a constant factor", hint.Cause);
        Assert.DoesNotContain("1/n", hint.Text);
    }

    [DataFact]
    public void ValuesInTheWrongPlacesAreNamedAndASignErrorIsNot()
    {
        var r = Reference();
        var permuted = r.view(32, 8, 8).transpose(1, 2).reshape(32, 64);
        Assert.Equal("values in the wrong places", MistakeHints.Diagnose(permuted, r, Batch)!.Cause);
        Assert.Equal("a sign error", MistakeHints.Diagnose(-r, r, Batch)!.Cause);
    }

    [DataFact]
    public void OverwritingScatterIsNamedOnlyWhereElementsWereReadTwice()
    {
        // uses: how often each element was read (an embedding lookup): rows 0–1 once, rows 2–3 twice.
        var uses = tensor(new double[] { 1, 1, 2, 2 }).view(4, 1).expand(4, 3);
        var r = randn([4, 3], dtype: ScalarType.Float64, generator: new Generator(5));
        var overwrote = r.clone();
        overwrote[2] = r[2] / 2; // one of the two contributions kept
        Assert.Equal("a scatter that overwrote", MistakeHints.Diagnose(overwrote, r, [4, 3], [], uses)!.Cause);
        // The neighbour: a row read once is wrong too, so it is not an overwrite.
        var alsoOnce = overwrote.clone();
        alsoOnce[0] = r[0] / 2;
        Assert.NotEqual("a scatter that overwrote", MistakeHints.Diagnose(alsoOnce, r, [4, 3], [], uses)?.Cause);
    }

    [DataFact]
    public void NonFiniteValuesAreNamedAndNotCalledAMissingMaxPath()
    {
        var r = Reference();
        var m = r.clone();
        m[0, 0] = double.NaN;
        var hint = MistakeHints.Diagnose(m, r, Batch)!;
        Assert.Contains("NaN", hint.Text);
        Assert.DoesNotContain("max", hint.Text);
    }

    [DataFact]
    public void AColumnTensorIsNotCalledAMissingMaxPath()
    {
        // A (32, 1) gradient has one element per row whatever is wrong with it: that is no max-path signature.
        using var s = NewDisposeScope();
        var c = new GradientCheck();
        var x = c.Track("x", randn(32, 1, dtype: ScalarType.Float64).requires_grad_(true));
        c.Backward((x * x).sum());
        var row = c.Compare("x", x.detach() * x.detach());
        Assert.False(row.Approximate);
        Assert.DoesNotContain("max", row.Hint ?? "");
    }

    [DataFact]
    public void WrongLocalDerivativeNamesTheStepAndSaysItsInputIsRight()
    {
        // dprobs = dlogprobs * probs instead of / probs, with the correct dlogprobs compared first.
        check.Compare("logprobs", d["logprobs"]);
        var row = check.Compare("probs", d["logprobs"] * f.probs);
        Assert.Equal((Verdict.Wrong, "a wrong local derivative"), (row.Verdict, row.Cause));
        Assert.Contains("the local derivative of logprobs (from probs) is wrong", row.Hint);
        Assert.Contains("dlogprobs, which it receives, is right", row.Hint);
        Assert.DoesNotContain("max", row.Hint);
    }

    [DataFact]
    public void UlpDistanceCountsRepresentableFloats()
    {
        Assert.Equal(0, Ulp.Distance(1f, 1f));
        Assert.Equal(1, Ulp.Distance(1f, MathF.BitIncrement(1f)));
        Assert.Equal(2, Ulp.Distance(-float.Epsilon, float.Epsilon));
        Assert.Equal(1, Ulp.Distance(1.0, Math.BitIncrement(1.0)));
        Assert.Equal(0, Ulp.Distance(0.0, -0.0));
    }
}
