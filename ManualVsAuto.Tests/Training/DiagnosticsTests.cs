using ManualVsAuto.Checking;
using ManualVsAuto.Backward;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using ManualVsAuto.Training;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>Part 3's diagnostics for every net: from the manual backward as from autograd, the warnings' rules, the files.</summary>
public class DiagnosticsTests
{
    private static IObservableTrainer Trainer(string net, BackwardKind kind, Generator g)
    {
        switch (net)
        {
            case "mlp":
                var p = MlpParameters.Init(new MlpConfig(NHidden: 64), g);
                return kind == BackwardKind.Manual ? new LoopStepTrainer(p) : new AutogradLayerTrainer(new Mlp(p));
            case "wavenet":
                return LayerTrainer.Create(kind, WaveNet.Create(g, nHidden: 32));
            default:
                return LayerTrainer.Create(kind, DeepNet.Create(g));
        }
    }

    private static TrainingDiagnostics Run(string net, BackwardKind kind, int steps, int every)
    {
        var split = net == "wavenet" ? WaveNetFixture.Split : LectureFixture.Split;
        var g = new Generator(net == "wavenet" ? WaveNet.LectureSeed : 2147483647);
        using var trainer = Trainer(net, kind, g);
        var d = new TrainingDiagnostics(every);
        for (int i = 0; i < steps; i++)
        {
            using var scope = NewDisposeScope();
            var (Xb, Yb) = Minibatch.Draw(split.Train, 32, g);
            if (d.Wants(i, steps)) { trainer.Step(Xb, Yb, 0.1, out var a); d.Record(i, a); }
            else trainer.Step(Xb, Yb, 0.1);
        }
        return d;
    }

    private static void Close(double manual, double autograd, double scale, string what) =>
        Assert.True(Math.Abs(manual - autograd) <= Tolerance.Training.Atol + Tolerance.Training.Rtol * scale,
            $"{what}: manual {manual:e6}, autograd {autograd:e6}");

    /// <summary>
    /// The same init and the same minibatches on the manual backward and on autograd (part 3's <c>retain_grad</c>): every
    /// statistic agrees within the training tolerance (<see cref="Tolerance.Training"/>: 1e-6 + 1e-4 × its scale, the
    /// std for a mean), so the plots are another check of the hand-written layers. Update:data is compared where the
    /// gradient is not rounding noise (the MLP's b1 under batchnorm: both sides ≈ 1e-9, unrelated).
    /// </summary>
    [DataTheory]
    [InlineData("mlp")]
    [InlineData("wavenet")]
    [InlineData("deep")]
    public void ManualDiagnosticsAgreeWithAutograds(string net)
    {
        var manual = Run(net, BackwardKind.Manual, 101, 25);
        var autograd = Run(net, BackwardKind.Autograd, 101, 25);
        Assert.Equal(5, manual.Samples.Count);
        foreach (var (m, a) in manual.Samples.Zip(autograd.Samples))
        {
            Assert.Equal(a.Step, m.Step);
            Assert.Equal(a.Activations.Select(x => x.Layer), m.Activations.Select(x => x.Layer));
            Assert.NotEmpty(m.Activations);
            foreach (var (x, y) in m.Activations.Zip(a.Activations))
            {
                Close(x.Mean, y.Mean, y.Std, $"step {m.Step} {x.Layer} mean");
                Close(x.Std, y.Std, y.Std, $"step {m.Step} {x.Layer} std");
                Assert.InRange(x.Saturated, y.Saturated - 1, y.Saturated + 1); // one value may sit on 0.97
            }
            Assert.Equal(a.Gradients.Select(x => x.Layer), m.Gradients.Select(x => x.Layer));
            foreach (var (x, y) in m.Gradients.Zip(a.Gradients))
            {
                Close(x.Mean, y.Mean, y.Std, $"step {m.Step} {x.Layer} gradient mean");
                Close(x.Std, y.Std, y.Std, $"step {m.Step} {x.Layer} gradient std");
            }
            Assert.Equal(a.Weights.Select(x => x.Name), m.Weights.Select(x => x.Name));
            foreach (var (x, y) in m.Weights.Zip(a.Weights))
            {
                Close(x.GradStd, y.GradStd, y.GradStd, $"step {m.Step} {x.Name} grad std");
                Close(x.GradToData, y.GradToData, y.GradToData, $"step {m.Step} {x.Name} grad:data");
            }
            foreach (var ((x, y), w) in m.Updates.Zip(a.Updates).Zip(m.Weights.Concat(Enumerable.Repeat<WeightStats?>(null, m.Updates.Count))))
            {
                Assert.Equal(y.Name, x.Name);
                double ux = Math.Pow(10, x.Log10), uy = Math.Pow(10, y.Log10);
                if (uy > 1e-6) Close(ux, uy, uy, $"step {m.Step} {x.Name} update:data");
            }
        }
    }

    private static StepActivity Synthetic(params double[] tanhGradStds)
    {
        var g = new Generator(3);
        var layers = tanhGradStds.Select((s, i) =>
            new LayerActivity($"layers[{i}] Tanh", "Tanh", randn([32, 8], generator: g).tanh(), randn([32, 8], generator: g) * s)).ToList();
        var w = randn([8, 8], generator: g);
        return new StepActivity(0.1, layers, [new ParameterGradient("W", w, w * 1e-2)]); // update:data ≈ 1e-3
    }

    /// <summary>A Tanh layer's gradient 10× its neighbour's warns (exploding toward the input), one 1/10 of it too
    /// (vanishing); 1.5× (what batchnorm's nets show) does not.</summary>
    [Fact]
    public void GradientsFarFromTheirNeighboursWarn()
    {
        using var scope = NewDisposeScope();
        TrainingDiagnostics Sampled(params double[] stds)
        {
            var d = new TrainingDiagnostics(1);
            d.Record(0, Synthetic(stds));
            return d;
        }
        Assert.Empty(DiagnosticWarnings.For(Sampled(1.5e-3, 1e-3, 1e-3)));
        // Each Tanh is compared with the next one: a spike in the middle is 10× its successor and 1/10 of its predecessor.
        var spike = DiagnosticWarnings.For(Sampled(1e-3, 1e-2, 1e-3));
        Assert.Equal(2, spike.Count);
        Assert.StartsWith("layers[0] Tanh:", spike[0]);
        Assert.Contains("vanish", spike[0]);
        Assert.StartsWith("layers[1] Tanh:", spike[1]);
        Assert.Contains("explode", spike[1]);
        var warnings = DiagnosticWarnings.For(Sampled(1e-3, 1e-3, 1e-4));
        Assert.Contains("layers[1] Tanh:", Assert.Single(warnings));
        Assert.Contains("explode", warnings[0]);
    }

    /// <summary>Histograms are kept for the latest sample only: memory grows by a few numbers per sample.</summary>
    [Fact]
    public void OnlyTheLatestSampleKeepsItsHistograms()
    {
        using var scope = NewDisposeScope();
        var d = new TrainingDiagnostics(1);
        d.Record(0, Synthetic(1e-3, 1e-3));
        d.Record(1, Synthetic(1e-3, 1e-3));
        Assert.All(d.Samples[0].Activations, a => Assert.Null(a.Histogram));
        Assert.All(d.Samples[0].Weights, a => Assert.Null(a.Histogram));
        var h = d.Last!.Activations[0].Histogram!;
        Assert.Equal(TrainingDiagnostics.Bins, h.Centers.Length);
        double width = h.Centers[1] - h.Centers[0];
        Assert.Equal(1.0, h.Density.Sum() * width, 9); // a density, as torch.histogram(density=True)
    }

    [Fact]
    public void SamplesEveryKStepsAndTheLast()
    {
        var d = new TrainingDiagnostics(200);
        Assert.Equal([0, 200, 400, 449], Enumerable.Range(0, 450).Where(i => d.Wants(i, 450)));
        Assert.Equal(1, TrainingDiagnostics.DefaultEvery(1001));
        Assert.Equal(200, TrainingDiagnostics.DefaultEvery(200_000));
    }

    [Fact]
    public void FilesHoldEverySample()
    {
        using var scope = NewDisposeScope();
        var d = new TrainingDiagnostics(1);
        d.Record(0, Synthetic(1e-3, 1e-3));
        d.Record(1, Synthetic(1e-3, 1e-3));
        using var json = System.Text.Json.JsonDocument.Parse(DiagnosticsFiles.Json(d, "deep", ["a warning"]));
        Assert.Equal(DiagnosticsFiles.JsonSchema, json.RootElement.GetProperty("schema").GetString());
        var samples = json.RootElement.GetProperty("samples");
        Assert.Equal(2, samples.GetArrayLength());
        Assert.Equal(100, samples[1].GetProperty("activations")[0].GetProperty("histogram").GetProperty("density").GetArrayLength());
        Assert.Equal("a warning", json.RootElement.GetProperty("warnings")[0].GetString());
        var csv = DiagnosticsFiles.Csv(d).TrimEnd('\n').Split('\n');
        Assert.Equal(DiagnosticsFiles.CsvHeader, csv[0]);
        Assert.Equal(1 + 2 * (2 + 2 + 1 + 1), csv.Length); // per sample: 2 activations, 2 gradients, 1 weight, 1 update
        Assert.All(csv, l => Assert.Equal(9, l.Count(c => c == ',')));
        var text = DiagnosticsFiles.Text(d, []);
        Assert.Contains("layers[1] Tanh", text);
        Assert.Contains("no warnings", text);
    }
}
