using ManualVsAuto.Model;

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

    /// <summary>Which version of a backward's arithmetic made a checkpoint of <paramref name="model"/>: its
    /// <see cref="ModelTraining.Revision"/>.</summary>
    public static int Revision(this BackwardKind kind, ModelKind model) => ModelTrainings.For(model).Revision(kind);

    /// <summary>The kind whose <see cref="Name"/> is <paramref name="s"/>: the names are written once, in Name.</summary>
    public static bool TryParse(string? s, out BackwardKind kind)
    {
        foreach (var k in Enum.GetValues<BackwardKind>())
            if (k.Name() == s) { kind = k; return true; }
        kind = default;
        return false;
    }
}
