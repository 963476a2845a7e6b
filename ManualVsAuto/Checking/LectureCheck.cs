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

        foreach (var (name, grad) in ManualBackward.Run(p, f, Xb, Yb)) check.Compare(name, grad);

        return new CheckReport(s, f.loss.to_type(ScalarType.Float64).item<double>(), check.Rows, [],
            Versions.TorchSharp, Versions.LibTorch);
    }
}
