namespace ManualVsAuto.Training;

/// <summary>How <c>train</c> gets its gradients: the hand-derived backward, or <c>loss.backward()</c> + <c>optim.SGD</c>.</summary>
public enum BackwardKind
{
    Manual,
    Autograd,
}

public static class BackwardKinds
{
    public static string Name(this BackwardKind kind) => kind switch
    {
        BackwardKind.Manual => "manual",
        BackwardKind.Autograd => "autograd",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>
    /// Which version of a backward's arithmetic made a checkpoint of <paramref name="model"/>. Bitwise resumption holds
    /// only within one revision, so <c>--resume</c> refuses a checkpoint of another; bump it when a backward rounds
    /// differently. Manual 1 was the earlier backward written with libtorch ops; the MLP's 2 was <see cref="Backward.FusedStep"/> with
    /// .NET's tanh, 3 its own vectorised tanh (<see cref="Backward.FusedStep.Tanh"/>);
    /// the WaveNet's manual 2 was the layers' first backward, 3 the batchnorm backward with its 1/n moved inside.
    /// Autograd 1 was the MLP's own tensor-op forward; 2 runs the MLP's layers (batchnorm's variance by <c>var</c>, which
    /// rounds differently); the WaveNet's autograd forward has not changed.
    /// </summary>
    public static int Revision(this BackwardKind kind, ModelKind model) => (kind, model) switch
    {
        (BackwardKind.Manual, ModelKind.Mlp) => 3,
        (BackwardKind.Manual, ModelKind.WaveNet) => 3,
        (BackwardKind.Autograd, ModelKind.Mlp) => 2,
        (BackwardKind.Autograd, ModelKind.WaveNet) => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The kind whose <see cref="Name"/> is <paramref name="s"/>: the names are written once, in Name.</summary>
    public static bool TryParse(string? s, out BackwardKind kind)
    {
        foreach (var k in Enum.GetValues<BackwardKind>())
            if (k.Name() == s) { kind = k; return true; }
        kind = default;
        return false;
    }
}
