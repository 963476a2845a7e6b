using ManualVsAuto.Backward;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>Exercise 1 end to end: init, one minibatch, the chunked forward, autograd, the manual backward, cmp.</summary>
public static class LectureCheck
{
    public static CheckReport Run(Examples train, CheckSettings s)
    {
        set_num_threads(s.Threads);
        using var scope = NewDisposeScope();
        var g = new Generator(s.Seed);
        var p = MlpParameters.Init(new MlpConfig(NHidden: s.Hidden), g, s.Dtype);
        var (Xb, Yb) = Minibatch.Sample(train, s.BatchSize, g);

        var check = new GradientCheck();
        var f = ChunkedForward.Run(p, Xb, Yb, check);
        check.Backward(f.loss);

        // Exercise 1: every intermediate.
        var manual = ManualBackward.Run(p, f, Xb, Yb);
        foreach (var (name, grad) in manual) check.Compare(name, grad);

        // Exercises 2 and 3: the fused gradients, against the same autograd gradients.
        var dlogits = FusedBackward.CrossEntropy(f.logits, Yb);
        check.Compare("logits", dlogits, FusedCrossEntropyLabel, expectExact: false);
        var dhpreact = manual.Single(m => m.Name == "hpreact").Grad;
        check.Compare("hprebn", FusedBackward.BatchNorm(dhpreact, p.bngain, f.bnvar_inv, f.bnraw), FusedBatchNormLabel, expectExact: false);

        // The third oracle: finite differences of the loss in each parameter, in float64.
        if (s.Numeric is { } mode)
        {
            check.CheckNumerically(p.Named.Select(x => x.Name).ToList(),
                ps => ChunkedForward.Run(new MlpParameters(ps[0], ps[1], ps[2], ps[3], ps[4], ps[5], ps[6]), Xb, Yb, null).loss,
                new FiniteDifferenceOptions { Mode = mode });
        }

        ForwardComparison[] forward;
        using (no_grad())
        {
            forward =
            [
                new("loss_fast", MaxAbsDiff(FusedForward.Loss(f.logits, Yb), f.loss)),
                new("hpreact_fast", MaxAbsDiff(FusedForward.BatchNorm(f.hprebn, p.bngain, p.bnbias), f.hpreact)),
            ];
        }
        return new CheckReport(s, ToDouble(f.loss), check.Rows, forward, Versions.TorchSharp, Versions.LibTorch)
        {
            Dlogits = ToMatrix(dlogits),
        };
    }

    public const string FusedCrossEntropyLabel = "logits (fused CE)";
    public const string FusedBatchNormLabel = "hprebn (fused BN)";

    /// <summary>The number of Exercise-1 rows; the fused rows follow them.</summary>
    public const int ChainRowCount = 26;

    private static double MaxAbsDiff(Tensor a, Tensor b) => ToDouble((a - b).abs().max());

    private static float[,] ToMatrix(Tensor t)
    {
        var values = t.to_type(ScalarType.Float32).contiguous().data<float>().ToArray();
        int rows = (int)t.shape[0], cols = (int)t.shape[1];
        var m = new float[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) m[i, j] = values[i * cols + j];
        return m;
    }

    private static double ToDouble(Tensor t) => t.to_type(ScalarType.Float64).item<double>();
}
