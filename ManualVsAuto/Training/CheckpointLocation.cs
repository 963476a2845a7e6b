using ManualVsAuto.Data;

namespace ManualVsAuto.Training;

public static class CheckpointLocation
{
    /// <summary>The documented default: <c>&lt;repo&gt;/checkpoints/mlp.ckpt</c> (gitignored), or <c>./checkpoints/mlp.ckpt</c> outside a repository.</summary>
    public static string Default() =>
        Path.Combine(DataLocator.FindRepositoryRoot() ?? Directory.GetCurrentDirectory(), "checkpoints", "mlp.ckpt");

    /// <exception cref="CheckpointException">The path is a directory.</exception>
    public static string Resolve(string? explicitPath)
    {
        string full = explicitPath is null ? Default() : Path.GetFullPath(explicitPath);
        if (Directory.Exists(full))
            throw new CheckpointException($"{full} is a directory, not a checkpoint file; give --checkpoint a file path such as {Path.Combine(full, "mlp.ckpt")}.");
        return full;
    }
}
