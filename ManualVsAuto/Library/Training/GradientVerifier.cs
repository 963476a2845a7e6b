using System.Globalization;
using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Training;

/// <summary>One parameter's gradient, manual against autograd, as the lecture's <c>cmp(str(tuple(p.shape)), g, p)</c>.</summary>
public sealed record GradientVerdict(string Name, long[] Shape, double MaxDiff, double MaxGrad, double Tolerance)
{
    public bool Ok => MaxDiff <= Tolerance;

    public string Label => $"{Name} {Cmp.Shape(Shape)}";
}

/// <summary>
/// <c>--verify-every K</c>: on the side of training, autograd's forward and backward on the same minibatch,
/// compared with the manual backward's 7 parameter gradients.
/// <para>
/// The test is <c>|manual − autograd| ≤ Atol + Rtol·max|autograd|</c> elementwise, per parameter. Why not
/// torch's allclose (rtol 1e-5 relative to each element, atol 1e-8): the fused backward is only approximately
/// equal to autograd's chain (other sums, other rounding), so small elements of a correct gradient can differ
/// by more than 1e-5 of themselves; and b1's true gradient is exactly zero (batchnorm subtracts the batch mean,
/// cancelling any bias), so both sides are rounding noise of about 1e-9 and agree only in size. Scaling by the
/// gradient's largest element judges each entry against the gradient it belongs to; float32 rounding over
/// sums of 30–200 terms stays near 1e-6 of that, so <see cref="Rtol"/> = 1e-4 leaves a wide margin yet catches
/// any real mistake (a missing Bessel factor is a 3% error at n = 32). <see cref="Atol"/> = 1e-6 only covers
/// gradients that are zero in exact arithmetic: far above their noise, far below any real gradient (≥ 1e-3 here).
/// </para>
/// </summary>
public static class GradientVerifier
{
    public const double Rtol = 1e-4;
    public const double Atol = 1e-6;

    public static IReadOnlyList<GradientVerdict> Verify(FusedTrainer trainer, Tensor Xb, Tensor Yb)
    {
        using var scope = NewDisposeScope();
        var manual = trainer.Gradients(Xb, Yb);
        // Autograd through the MLP's layers on a copy, so the trained parameters never take part in a graph;
        // batch statistics, as in training.
        var q = trainer.Parameters.Copy(requiresGrad: true);
        using var net = new Mlp(q);
        F.cross_entropy(net.Forward(Xb, ForwardMode.Probe), Yb).backward();
        return q.Named.Zip(manual.Named, (a, m) => Judge(a.Name, m.Tensor, a.Tensor.grad!)).ToList();
    }

    public static GradientVerdict Judge(string name, Tensor manual, Tensor reference)
    {
        using var scope = NewDisposeScope();
        double maxDiff = (manual - reference).abs().max().to_type(ScalarType.Float64).item<double>();
        double maxGrad = reference.abs().max().to_type(ScalarType.Float64).item<double>();
        // NaN fails: NaN <= x is false.
        return new GradientVerdict(name, reference.shape, maxDiff, maxGrad, Atol + Rtol * maxGrad);
    }

    public static string Describe(GradientVerdict v) => string.Create(CultureInfo.InvariantCulture,
        $"{v.Label}: max |manual − autograd| = {v.MaxDiff:0.0e+0} {(v.Ok ? "≤" : "exceeds")} tolerance {v.Tolerance:0.0e+0} (= {Atol:0e+0} + {Rtol:0e+0}·max|grad| {v.MaxGrad:0.0e+0})");
}
