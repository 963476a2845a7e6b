using ManualVsAuto.Data;
using ManualVsAuto.Model;

namespace ManualVsAuto.Training;

public static class CheckpointLocation
{
    /// <summary>The documented default: <c>&lt;repo&gt;/checkpoints/mlp.ckpt</c> (gitignored), or <c>./checkpoints/mlp.ckpt</c>
    /// outside a repository; <c>&lt;name&gt;.ckpt</c> for another net.</summary>
    public static string Default(ModelKind? model = null) =>
        Path.Combine(DataLocator.FindRepositoryRoot() ?? Directory.GetCurrentDirectory(), "checkpoints", $"{(model ?? ModelKinds.Default).Name}.ckpt");

    /// <exception cref="CheckpointException">The path is a directory.</exception>
    public static string Resolve(string? explicitPath, ModelKind? model = null)
    {
        string full = explicitPath is null ? Default(model) : Path.GetFullPath(explicitPath);
        if (Directory.Exists(full))
            throw new CheckpointException($"{full} is a directory, not a checkpoint file; give --checkpoint a file path such as {Path.Combine(full, $"{(model ?? ModelKinds.Default).Name}.ckpt")}.");
        return full;
    }
}
