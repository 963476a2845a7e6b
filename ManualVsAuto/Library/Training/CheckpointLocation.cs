using ManualVsAuto.Data;

namespace ManualVsAuto.Training;

public static class CheckpointLocation
{
    /// <summary>The documented default: <c>&lt;repo&gt;/checkpoints/mlp.ckpt</c> (gitignored), or <c>./checkpoints/mlp.ckpt</c>
    /// outside a repository; <c>wavenet.ckpt</c> for the WaveNet.</summary>
    public static string Default(ModelKind model = ModelKind.Mlp) =>
        Path.Combine(DataLocator.FindRepositoryRoot() ?? Directory.GetCurrentDirectory(), "checkpoints", $"{model.Name()}.ckpt");

    /// <exception cref="CheckpointException">The path is a directory.</exception>
    public static string Resolve(string? explicitPath, ModelKind model = ModelKind.Mlp)
    {
        string full = explicitPath is null ? Default(model) : Path.GetFullPath(explicitPath);
        if (Directory.Exists(full))
            throw new CheckpointException($"{full} is a directory, not a checkpoint file; give --checkpoint a file path such as {Path.Combine(full, $"{model.Name()}.ckpt")}.");
        return full;
    }
}
