namespace ManualVsAuto.Training;

/// <summary>Which net <c>train</c> trains: Exercise 4's MLP, or makemore part 5's hierarchical WaveNet built from layers.</summary>
public enum ModelKind
{
    Mlp,
    WaveNet,
}

public static class ModelKinds
{
    public static string Name(this ModelKind kind) => kind switch
    {
        ModelKind.Mlp => "mlp",
        ModelKind.WaveNet => "wavenet",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The kind whose <see cref="Name"/> is <paramref name="s"/>: the names are written once, in Name.</summary>
    public static bool TryParse(string? s, out ModelKind kind)
    {
        foreach (var k in Enum.GetValues<ModelKind>())
            if (k.Name() == s) { kind = k; return true; }
        kind = default;
        return false;
    }
}
