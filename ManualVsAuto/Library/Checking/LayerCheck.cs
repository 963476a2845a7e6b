using ManualVsAuto.Backward;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace ManualVsAuto.Checking;

/// <summary>
/// Checks a model made of layers, layer by layer: every layer's output and every parameter is a row, named by
/// position and kind (<c>layers[3] BatchNorm1d out</c>, <c>layers[2] Linear weight</c>), in backward order.
/// Each layer's hand-written backward is fed autograd's gradient of its output, so a row measures that layer's
/// backward alone and a wrong one is found at that layer, not smeared over every layer below it. The loss is
/// <c>F.cross_entropy</c>; its row (the last layer's output) uses Exercise 2's fused formula.
/// </summary>
public static class LayerCheck
{
    /// <summary>The row name of layer <paramref name="i"/>'s output or of one of its parameters.</summary>
    public static string RowName(int i, Layer layer, string what) => $"layers[{i}] {layer.Kind} {what}";

    /// <summary>
    /// Runs the model's forward on one batch (batch statistics; the running statistics stay as they are), autograd's
    /// backward and each layer's manual backward, and compares. The parameters must require gradients.
    /// </summary>
    /// <param name="numeric">Also checks each parameter's manual gradient with finite differences of the loss (float64 copies).</param>
    public static (GradientCheck Check, Tensor Loss) Run(Sequential model, Tensor Xb, Tensor Yb, FiniteDifferenceMode? numeric)
    {
        var check = new GradientCheck();
        var layers = model.Layers;
        var (loss, manual) = ForwardBackward(model, Xb, Yb, check);
        // A float32 row that is not allclose is decided by the same layers' backward in float64, fed autograd's
        // float64 gradients (as the float32 rows are fed autograd's float32 ones).
        if (loss.dtype == ScalarType.Float32)
            check.DecideInFloat64(c64 =>
            {
                var ps64 = model.Parameters.Select(p => p.Value.detach().to_type(ScalarType.Float64).requires_grad_(true)).ToList();
                var (loss64, manual64) = model.With(ps64, () => ForwardBackward(model, Xb, Yb, c64));
                return new Float64Run(loss64, manual64.ToDictionary(m => m.Row, m => m.Grad, StringComparer.Ordinal)) { BackwardDone = true };
            });
        foreach (var m in manual) check.Compare(m.Tensor, m.Grad, m.Row == m.Tensor ? null : m.Row, m.ExpectExact);

        if (numeric is { } mode)
        {
            var names = layers.SelectMany((l, i) => l.Parameters.Select(p => RowName(i, l, p.Name))).ToList();
            check.CheckNumerically(names, ps => model.With(ps, () => F.cross_entropy(model.Forward(Xb, ForwardMode.Inspect), Yb)),
                new FiniteDifferenceOptions { Mode = mode });
        }
        return (check, loss);
    }

    /// <summary>
    /// The forward with every parameter and layer output tracked, then each layer's manual backward fed autograd's
    /// gradient of its output, collected before any row is compared: the float64 rerun runs the same layers again,
    /// which overwrites their caches and gradients.
    /// </summary>
    private static (Tensor Loss, List<(string Tensor, string Row, Tensor Grad, bool ExpectExact)> Manual) ForwardBackward(
        Sequential model, Tensor Xb, Tensor Yb, GradientCheck check)
    {
        var layers = model.Layers;
        for (int i = 0; i < layers.Count; i++)
            foreach (var p in layers[i].Parameters) check.Track(RowName(i, layers[i], p.Name), p.Value);
        var outs = new string[layers.Count];
        var x = Xb;
        for (int i = 0; i < layers.Count; i++)
        {
            x = layers[i].Forward(x, ForwardMode.Inspect);
            outs[i] = RowName(i, layers[i], "out");
            check.Track(outs[i], x);
        }
        var loss = F.cross_entropy(x, Yb);
        check.Backward(loss);
        var upstream = outs.Select(o => check[o].grad!).ToList();

        var manual = new List<(string, string, Tensor, bool)>();
        using (no_grad())
        {
            manual.Add((outs[^1], outs[^1], FusedBackward.CrossEntropy(x, Yb), false));
            for (int i = layers.Count - 1; i >= 0; i--)
            {
                var dx = layers[i].Backward(upstream[i]);
                foreach (var p in layers[i].Parameters)
                    manual.Add((RowName(i, layers[i], p.Name), RowName(i, layers[i], p.Name), p.Grad!.clone(), true));
                if (dx is not null && i > 0) manual.Add((outs[i - 1], outs[i - 1], dx, layers[i].ExactBackward));
            }
        }
        return (loss, manual);
    }

    /// <summary>
    /// <c>check --model NAME</c> for a net made of layers: built from a generator seeded <see cref="CheckSettings.Seed"/>
    /// (the notebook's order: the parameters, then the batch), one minibatch, every layer's rows.
    /// </summary>
    public static CheckReport RunModel(ModelKind kind, Examples train, CheckSettings s)
    {
        set_num_threads(s.Threads);
        using var scope = NewDisposeScope();
        var g = new Generator(s.Seed);
        using var model = kind.Create(g, s.NHidden);
        foreach (var p in model.Parameters) p.Value = p.Value.to_type(s.Dtype).detach().requires_grad_(true);
        var (Xb, Yb) = Minibatch.Draw(train, s.BatchSize, g);
        var (check, loss) = Run(model, Xb, Yb, s.Numeric);
        return new CheckReport(s, loss.to_type(ScalarType.Float64).item<double>(), check.Rows, [], Versions.TorchSharp, Versions.LibTorch)
        {
            Model = kind.Name,
        };
    }

    /// <summary><c>check --model wavenet</c>: part 5's net, layer by layer.</summary>
    public static CheckReport RunWaveNet(Examples train, CheckSettings s) => RunModel(ModelKinds.WaveNet, train, s);
}
