using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// makemore part 3's deep net (makemore_part3_bn.ipynb) on the hand-written layers, trained on their manual backward:
/// the notebook's printed numbers after its 1,001 steps, reproduced. The notebook's <c>layers[i]</c> is our
/// <c>layers[i + 2]</c> (C and the view come first here).
/// </summary>
public class DeepNetTests
{
    [Fact]
    public void HasTheNotebooksParameterCount()
    {
        using var scope = NewDisposeScope();
        using var net = DeepNet.Create(new Generator(2147483647));
        Assert.Equal(47_024, net.Count);
        Assert.Equal(47_024, DeepNet.ParameterCount());
        Assert.Equal(19, net.Layers.Count);
        using var wide = DeepNet.Create(new Generator(1), nHidden: 37);
        Assert.Equal(wide.Count, DeepNet.ParameterCount(nHidden: 37));
    }

    /// <summary>The notebook scales the last batchnorm's gamma by 0.1 and every Linear's weight by the gain; without
    /// batchnorm the last Linear's weight by 0.1 instead, and it has biases.</summary>
    [Fact]
    public void InitScalesAsTheNotebook()
    {
        using var scope = NewDisposeScope();
        using var net = DeepNet.Create(new Generator(5), gain: 5.0 / 3);
        using var plain = DeepNet.Create(new Generator(5));
        Assert.Equal(0.1f, ((BatchNorm1d)net.Layers[^1]).Gamma.Value.flatten()[0].item<float>());
        var (w, w0) = (((Linear)net.Layers[^2]).Weight.Value, ((Linear)plain.Layers[^2]).Weight.Value);
        Assert.True(w.equal(w0.mul(5.0 / 3)).all().item<bool>());
        using var noBn = DeepNet.Create(new Generator(5), batchNorm: false);
        Assert.DoesNotContain(noBn.Layers, l => l is BatchNorm1d);
        var last = (Linear)noBn.Layers[^1];
        Assert.NotNull(last.Bias);
        Assert.True(last.Weight.Value.equal(w0.mul(0.1)).all().item<bool>()); // the same draws: the Linears take the same shapes
    }

    /// <summary>Trains as the notebook's loop does, with part 3's statistics after every step.</summary>
    internal static (TrainingDiagnostics Diagnostics, float Step0, LayerTrainer Trainer) Train(BackwardKind kind, int steps, double lr = 0.1,
        double gain = 1.0, bool batchNorm = true, int every = 1)
    {
        var g = new Generator(2147483647);
        var trainer = LayerTrainer.Create(kind, DeepNet.Create(g, gain: gain, batchNorm: batchNorm));
        var d = new TrainingDiagnostics(every);
        float step0 = 0;
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            var (Xb, Yb) = Minibatch.Draw(LectureFixture.Split.Train, 32, g);
            Tensor loss;
            if (d.Wants(i, steps))
            {
                loss = trainer.Step(Xb, Yb, lr, out var a);
                d.Record(i, a);
            }
            else
            {
                loss = trainer.Step(Xb, Yb, lr);
            }
            if (i == 0) step0 = loss.item<float>();
        }
        return (d, step0, trainer);
    }

    // The notebook's printouts after `if i >= 1000: break` (step i = 1000, 1,001 updates).
    private static readonly (double Mean, double Std, double SaturatedPercent)[] NotebookActivations =
        [(-0.00, 0.63, 2.78), (0.00, 0.64, 2.56), (-0.00, 0.65, 2.25), (0.00, 0.65, 1.69), (0.00, 0.65, 1.88)];

    private static readonly double[] NotebookTanhGradStd = [2.640702e-03, 2.245584e-03, 2.045742e-03, 1.983134e-03, 1.952382e-03];

    private static readonly (long[] Shape, double Std, double GradToData)[] NotebookWeights =
    [
        ([27, 10], 8.020534e-03, 8.012630e-03), ([30, 100], 9.241077e-03, 4.881091e-02),
        ([100, 100], 7.132879e-03, 6.964619e-02), ([100, 100], 6.234305e-03, 6.073741e-02),
        ([100, 100], 5.742187e-03, 5.631483e-02), ([100, 100], 5.672205e-03, 5.570125e-02),
        ([100, 27], 1.209416e-02, 1.160106e-01),
    ];

    private static void SameToThreeDigits(double expected, double actual, string what)
    {
        double digits = Math.Pow(10, Math.Floor(Math.Log10(Math.Abs(expected))) - 2); // the third significant digit
        Assert.True(Math.Abs(Math.Round(actual / digits) - Math.Round(expected / digits)) == 0,
            $"{what}: {actual:e6}, the notebook {expected:e6} (3 significant digits)");
    }

    /// <summary>
    /// 1,001 steps on the manual backward reproduce the notebook: the step-0 loss, the losses over the splits with the
    /// running statistics (within 1e-4; measured 1.6e-9 and 2.6e-8 off), every std and ratio to 3 significant digits
    /// (they agree to about 6), each saturation within 2 of its 3,200 values (measured: the same counts), and no warning.
    /// </summary>
    [DataFact]
    public void ManualBackwardReproducesTheNotebook()
    {
        var (d, step0, trainer) = Train(BackwardKind.Manual, 1001);
        using var _ = trainer;
        Assert.Equal("3.2870", step0.ToString("F4", System.Globalization.CultureInfo.InvariantCulture));
        var inference = new LayerInference(trainer.Model, DeepNet.BlockSize);
        Assert.InRange(inference.SplitLoss(LectureFixture.Split.Train), 2.4002976417541504 - 1e-4, 2.4002976417541504 + 1e-4);
        Assert.InRange(inference.SplitLoss(LectureFixture.Split.Dev), 2.3982467651367188 - 1e-4, 2.3982467651367188 + 1e-4);

        var last = d.Last!;
        Assert.Equal(1000, last.Step);
        Assert.Equal(["layers[4] Tanh", "layers[7] Tanh", "layers[10] Tanh", "layers[13] Tanh", "layers[16] Tanh"], last.Activations.Select(a => a.Layer));
        foreach (var (a, nb) in last.Activations.Zip(NotebookActivations))
        {
            Assert.Equal(3200, a.Count);
            Assert.True(Math.Abs(a.Mean - nb.Mean) < 0.005, $"{a.Layer} mean {a.Mean}"); // the notebook's %+.2f: ±0.00
            Assert.Equal(nb.Std, Math.Round(a.Std, 2));
            Assert.InRange(a.Saturated, Math.Round(nb.SaturatedPercent * 32) - 2, Math.Round(nb.SaturatedPercent * 32) + 2);
        }
        var tanhGrads = last.Gradients.Where(g => g.Kind == "Tanh").ToList();
        foreach (var (g, std) in tanhGrads.Zip(NotebookTanhGradStd)) SameToThreeDigits(std, g.Std, g.Layer);
        Assert.Equal(NotebookWeights.Length, last.Weights.Count);
        foreach (var (w, nb) in last.Weights.Zip(NotebookWeights))
        {
            Assert.Equal(nb.Shape, w.Shape);
            SameToThreeDigits(nb.Std, w.GradStd, $"{w.Name} grad std");
            SameToThreeDigits(nb.GradToData, w.GradToData, $"{w.Name} grad:data");
        }
        // The notebook's update:data plot: C starts near −3.75 and ends just under −3; hidden weights near −2.1 to −2.3,
        // the output layer's near −1.95.
        double Ud(DiagnosticSample s, string name) => s.Updates.Single(u => u.Name == name).Log10;
        Assert.InRange(Ud(d.Samples[0], "layers[0].weight"), -3.9, -3.6);
        Assert.InRange(Ud(last, "layers[0].weight"), -3.2, -3.0);
        foreach (var name in new[] { "layers[5].weight", "layers[8].weight", "layers[11].weight", "layers[14].weight" })
            Assert.InRange(Ud(last, name), -2.35, -2.05);
        Assert.InRange(Ud(last, "layers[17].weight"), -2.05, -1.85);
        Assert.Empty(DiagnosticWarnings.For(d));
    }

    /// <summary>Part 3's bad settings each trip a warning that names the layer and what to change.</summary>
    [DataTheory]
    [InlineData(false, 1.0, 0.1, "layers[12].weight: update:data is 10^-1.5", "too high")]
    [InlineData(false, 5.0 / 3, 0.1, "layers[3] Tanh: 21.97 % of its activations are saturated", "saturated")]
    [InlineData(true, 1.0, 1.0, "layers[17].weight: update:data is 10^-1.6", "too high")]
    [InlineData(true, 1.0, 0.001, "layers[0].weight: update:data is 10^-5.7", "too low")]
    public void PartThreesBadSettingsWarn(bool batchNorm, double gain, double lr, string expected, string cause)
    {
        var (d, _, trainer) = Train(BackwardKind.Manual, 1001, lr, gain, batchNorm);
        using var _ = trainer;
        var warnings = DiagnosticWarnings.For(d);
        Assert.Contains(warnings, w => w.StartsWith(expected, StringComparison.Ordinal) && w.Contains(cause));
    }
}
