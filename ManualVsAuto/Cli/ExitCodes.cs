namespace ManualVsAuto.Cli;

/// <summary>The program's documented exit codes.</summary>
public static class ExitCodes
{
    /// <summary>Every gradient row meets the required level; training finished.</summary>
    public const int Ok = 0;

    /// <summary>A gradient row falls short, or training diverged (loss NaN/inf) or failed verification.</summary>
    public const int Failed = 1;

    /// <summary>A usage or input error: bad option value, missing or malformed data or checkpoint.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted by Ctrl+C (after saving a checkpoint).</summary>
    public const int Interrupted = 130;
}
