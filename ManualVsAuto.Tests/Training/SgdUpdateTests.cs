using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>The SGD update is written once per rounding; each is held bitwise to the libtorch expression it stands for.</summary>
public class SgdUpdateTests
{
    private const float Lr = 0.1f;

    private static (float[] P, float[] G) Draw()
    {
        var g = new Generator(7);
        return (randn(10_000, generator: g).data<float>().ToArray(), randn(10_000, generator: g).data<float>().ToArray());
    }

    [Fact]
    public void AsLectureIsTheLecturesLine()
    {
        var (p, grad) = Draw();
        using var pt = tensor(p);
        using var gt = tensor(grad);
        pt.add_(gt.mul(-(double)Lr)); // p.data += -lr * p.grad
        SgdUpdate.AsLecture(p, grad, Lr);
        Assert.Equal(pt.data<float>().ToArray(), p);
    }

    [Fact]
    public void AsOptimSgdIsAddWithAlpha()
    {
        var (p, grad) = Draw();
        using var pt = tensor(p);
        using var gt = tensor(grad);
        pt.add_(gt, alpha: -(double)Lr); // optim.SGD's update
        SgdUpdate.AsOptimSgd(p, grad, Lr);
        Assert.Equal(pt.data<float>().ToArray(), p);
    }

    [Fact]
    public void TheTwoRoundingsDifferSomewhere()
    {
        var (p, grad) = Draw();
        var q = (float[])p.Clone();
        SgdUpdate.AsLecture(p, grad, Lr);
        SgdUpdate.AsOptimSgd(q, grad, Lr);
        Assert.NotEqual(p, q);
        // Apart by the product's rounding and the sum's: at most an ulp of each.
        static float Ulp(float x) => MathF.BitIncrement(Math.Abs(x)) - Math.Abs(x);
        Assert.All(Enumerable.Range(0, p.Length), i => Assert.True(Math.Abs(p[i] - q[i]) <= Ulp(Lr * grad[i]) + Ulp(p[i]), $"element {i}"));
    }
}
