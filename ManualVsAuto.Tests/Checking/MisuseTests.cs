using ManualVsAuto.Checking;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// Bad use of <see cref="GradientCheck"/> is a <see cref="GradientCheckException"/> that says what was wrong, never a
/// .NET exception from deep inside; a zero-element tensor is a trivially exact row.
/// </summary>
public class MisuseTests : IDisposable
{
    private readonly IDisposable scope = NewDisposeScope();

    public void Dispose() => scope.Dispose();

    private static GradientCheck Checked(out Tensor x)
    {
        var check = new GradientCheck();
        x = check.Track("x", randn(3, 2).requires_grad_(true));
        var y = check.Step("y", v => v("x") * 3);
        check.Backward(y.sum());
        return check;
    }

    [Fact]
    public void ZeroElementTensorIsATriviallyExactRow()
    {
        var check = new GradientCheck();
        var x = check.Track("x", zeros(0, 4).requires_grad_(true));
        var w = check.Track("w", ones(4).requires_grad_(true));
        check.Backward((x * w).sum() + w.sum());
        var row = check.Compare("x", zeros(0, 4));
        Assert.Equal((Verdict.Exact, 0L, 0.0), (row.Verdict, row.Mismatches, row.MaxDiff));
        // The neighbouring row still judges: a wrong w is wrong.
        Assert.Equal(Verdict.Wrong, check.Compare("w", 2 * ones(4)).Verdict);
    }

    [Fact]
    public void ZeroElementManualOfAnotherShapeIsStillAShapeMismatch()
    {
        var check = new GradientCheck();
        var x = check.Track("x", zeros(0, 4).requires_grad_(true));
        check.Backward(x.sum());
        Assert.Equal(Verdict.ShapeMismatch, check.Compare("x", zeros(4, 0)).Verdict);
    }

    [Fact]
    public void NullManualGradientNamesTheRow()
    {
        var check = Checked(out _);
        var e = Assert.Throws<GradientCheckException>(() => check.Compare("y", null!));
        Assert.Equal("Compare(\"y\", …) was given null instead of a manual gradient.", e.Message);
    }

    [Fact]
    public void NullNamesAreErrorsThatSayWhichCall()
    {
        var check = Checked(out _);
        Assert.Equal("Compare needs the name of a tracked tensor: got null.",
            Assert.Throws<GradientCheckException>(() => check.Compare(null!, ones(3, 2))).Message);
        Assert.Equal("Track needs a name: got null.",
            Assert.Throws<GradientCheckException>(() => check.Track(null!, randn(2).requires_grad_(true))).Message);
        Assert.Equal("Step needs a name: got \" \".",
            Assert.Throws<GradientCheckException>(() => check.Step(" ", v => v("x") * 2)).Message);
        Assert.Equal("a step read a tensor by the name null.",
            Assert.Throws<GradientCheckException>(() => check.Step("z", v => v(null!) * 2)).Message);
    }

    [Fact]
    public void NullTensorOrFunctionIsAnError()
    {
        var check = new GradientCheck();
        Assert.Equal("Track(\"x\", …) was given null instead of a tensor.",
            Assert.Throws<GradientCheckException>(() => check.Track("x", null!)).Message);
        Assert.Equal("Step(\"y\", …) was given null instead of a function.",
            Assert.Throws<GradientCheckException>(() => check.Step("y", null!)).Message);
    }

    [Fact]
    public void ComparingARowTwiceIsAnErrorButAnotherLabelIsNot()
    {
        var check = Checked(out _);
        Assert.Equal(Verdict.Exact, check.Compare("x", 3 * ones(3, 2)).Verdict);
        var e = Assert.Throws<GradientCheckException>(() => check.Compare("x", 3 * ones(3, 2)));
        Assert.StartsWith("'x' is compared twice", e.Message);
        // A second formula for the same tensor under its own label is a row of its own.
        Assert.Equal(Verdict.Wrong, check.Compare("x", ones(3, 2), label: "x (other formula)").Verdict);
        Assert.Equal(2, check.Rows.Count);
    }

    [Fact]
    public void TrackingANameTwiceIsAnError()
    {
        var check = new GradientCheck();
        check.Track("x", randn(2).requires_grad_(true));
        Assert.Equal("'x' is tracked twice.",
            Assert.Throws<GradientCheckException>(() => check.Track("x", randn(2).requires_grad_(true))).Message);
        Assert.Equal("'x' is tracked twice.",
            Assert.Throws<GradientCheckException>(() => check.Step("x", _ => randn(2).requires_grad_(true))).Message);
    }

    [Fact]
    public void DisposedTensorsAreErrors()
    {
        var check = Checked(out _);
        var gone = ones(3, 2);
        gone.Dispose();
        Assert.Equal("Compare(\"x\", …) was given a disposed manual gradient.",
            Assert.Throws<GradientCheckException>(() => check.Compare("x", gone)).Message);
        var t = randn(2).requires_grad_(true);
        t.Dispose();
        Assert.Equal("Track(\"t\", …) was given a disposed tensor.",
            Assert.Throws<GradientCheckException>(() => new GradientCheck().Track("t", t)).Message);
    }
}
