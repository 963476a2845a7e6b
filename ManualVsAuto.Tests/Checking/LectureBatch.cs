using ManualVsAuto.Backward;
using ManualVsAuto.Checking;
using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// The lecture's first minibatch after autograd's backward, with the correct manual gradients by name, so a
/// test can hand in a deliberately wrong one. Disposing it frees every tensor it made.
/// </summary>
public sealed class LectureBatch : IDisposable
{
    private readonly IDisposable scope = NewDisposeScope();

    public LectureBatch()
    {
        var g = new Generator(MlpConfig.LectureSeed);
        P = MlpParameters.Init(new MlpConfig(), g);
        var (Xb, Yb) = Minibatch.Draw(LectureFixture.Split.Train, 32, g);
        F = StepByStepForward.Run(P, Xb, Yb, Check);
        Check.Backward(F.loss);
        D = StepByStepBackward.Run(P, F, Xb, Yb).ToDictionary(m => m.Name, m => m.Grad);
    }

    public GradientCheck Check { get; } = new();
    public MlpParameters P { get; }
    public ForwardState F { get; }

    /// <summary>The correct manual gradients, by tensor name (D["h"] is dh).</summary>
    public IReadOnlyDictionary<string, Tensor> D { get; }

    public void Dispose() => scope.Dispose();
}
