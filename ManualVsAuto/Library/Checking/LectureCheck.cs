using ManualVsAuto.Backward;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Checking;

/// <summary>A manual backward of the lecture's MLP: the gradients by tensor name, in backward order.</summary>
public delegate IReadOnlyList<(string Name, Tensor Grad)> StepByStepBackwardFunction(MlpParameters p, ForwardState f, Tensor Xb, Tensor Yb);

/// <summary>Exercise 1 end to end: init, one minibatch, the chunked forward, autograd, the manual backward, cmp.</summary>
public static class LectureCheck
{
    /// <summary>
    /// Runs the check. <paramref name="backward"/> is the manual backward to check (Exercise 1's by default; the tests
    /// hand in ones with a mistake on one line); a float32 row that is not allclose is decided by rerunning the same
    /// forward and the same manual backward in float64.
    /// </summary>
    /// <param name="numericProgress">Called as the finite-difference check advances: the parameter, done, of how many.</param>
    /// <param name="rerunInFloat64">False leaves float32 rows to the checker's own float64 replay (tests of the replay).</param>
    public static CheckReport Run(Examples train, CheckSettings s, StepByStepBackwardFunction? backward = null,
        Action<string, long, long>? numericProgress = null, bool rerunInFloat64 = true)
    {
        backward ??= (p, f, Xb, Yb) => StepByStepBackward.Run(p, f, Xb, Yb);
        set_num_threads(s.Threads);
        using var scope = NewDisposeScope();
        var g = new Generator(s.Seed);
        var p = MlpParameters.Init(new MlpConfig(NHidden: s.NHidden), g, s.Dtype);
        var (Xb, Yb) = Minibatch.Draw(train, s.BatchSize, g);

        var check = new GradientCheck();
        var f = StepByStepForward.Run(p, Xb, Yb, check);
        check.Backward(f.loss);
        if (s.Dtype != ScalarType.Float64 && rerunInFloat64)
        {
            check.DecideInFloat64(c64 =>
            {
                var p64 = p.Map(t => t.detach().to_type(ScalarType.Float64).requires_grad_(true));
                var f64 = StepByStepForward.Run(p64, Xb, Yb, c64);
                var manual64 = Gradients(backward(p64, f64, Xb, Yb), p64, f64, Yb);
                return new Float64Run(f64.loss, manual64);
            });
        }

        // Exercise 1: every intermediate, then Exercises 2 and 3: the fused gradients, against the same autograd gradients.
        var manual = backward(p, f, Xb, Yb);
        var rows = Gradients(manual, p, f, Yb);
        foreach (var (name, _) in manual) check.Compare(name, rows[name]);
        check.Compare("logits", rows[FusedCrossEntropyLabel], FusedCrossEntropyLabel, expectExact: false, from: "loss");
        check.Compare("hprebn", rows[FusedBatchNormLabel], FusedBatchNormLabel, expectExact: false, from: "hpreact");
        var dlogits = rows[FusedCrossEntropyLabel];

        // The third oracle: finite differences of the loss in each parameter, in float64.
        if (s.Numeric is { } mode)
        {
            check.CheckNumerically(p.Named.Select(x => x.Name).ToList(),
                ps => StepByStepForward.Run(new MlpParameters(ps[0], ps[1], ps[2], ps[3], ps[4], ps[5], ps[6]), Xb, Yb, null).loss,
                new FiniteDifferenceOptions { Mode = mode, Progress = numericProgress });
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

    /// <summary>Every row's manual gradient by label: the chain's, then the fused rows' (the fused batchnorm from the chain's dhpreact).</summary>
    private static Dictionary<string, Tensor> Gradients(IReadOnlyList<(string Name, Tensor Grad)> manual, MlpParameters p, ForwardState f, Tensor Yb)
    {
        var rows = manual.ToDictionary(m => m.Name, m => m.Grad, StringComparer.Ordinal);
        rows[FusedCrossEntropyLabel] = FusedBackward.CrossEntropy(f.logits, Yb);
        rows[FusedBatchNormLabel] = FusedBackward.BatchNorm(rows["hpreact"], p.bngain, f.bnvar_inv, f.bnraw);
        return rows;
    }

    public const string FusedCrossEntropyLabel = "logits (fused CE)";
    public const string FusedBatchNormLabel = "hprebn (fused BN)";

    /// <summary>The number of Exercise-1 rows; the fused rows follow them.</summary>
    public const int StepByStepRowCount = 26;

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
