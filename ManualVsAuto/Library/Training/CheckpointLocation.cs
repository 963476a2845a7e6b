using ManualVsAuto.Data;

namespace ManualVsAuto.Training;

public static class CheckpointLocation
{
    /// <summary>The documented default: <c>&lt;repo&gt;/checkpoints/mlp.ckpt</c> (gitignored), or <c>./checkpoints/mlp.ckpt</c> outside a repository.</summary>
    public static string Default() =>
        Path.Combine(DataLocator.FindRepositoryRoot() ?? Directory.GetCurrentDirectory(), "checkpoints", "mlp.ckpt");

    public static string Resolve(string? explicitPath) =>
        explicitPath is null ? Default() : Path.GetFullPath(explicitPath);
}
