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

    public static bool TryParse(string? s, out ModelKind kind)
    {
        switch (s)
        {
            case "mlp": kind = ModelKind.Mlp; return true;
            case "wavenet": kind = ModelKind.WaveNet; return true;
            default: kind = default; return false;
        }
    }
}
