namespace ManualVsAuto.Plots;

/// <summary>
/// Where plots go: a .png path in an existing, writable folder, written through a temporary file. A missing folder
/// is an error, never created: a typo in <c>--plot</c> should not leave a stray folder tree behind.
/// </summary>
public static class PngFile
{
    /// <summary>Checks the path before any work is done, so a typo does not cost a training run.</summary>
    public static string Validate(string path)
    {
        var full = Path.GetFullPath(path);
        if (!full.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            throw new PlotPathException($"{path}: a plot is written as PNG; give a path ending in .png.");
        if (Directory.Exists(full)) throw new PlotPathException($"{path}: is a folder, not a file.");
        if (Training.CheckpointFile.KindOf(full) == Training.CheckpointFile.FileKind.Ours)
            throw new PlotPathException($"{path}: holds a ManualVsAuto checkpoint; not overwriting it with a plot. Choose another --plot path.");
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir))
            throw new PlotPathException($"{path}: the folder {dir} does not exist (--plot creates no folders; create it first or fix the path).");
        var probe = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PlotPathException($"{path}: cannot write in the folder {dir} ({e.Message.TrimEnd('.')}).");
        }
        return full;
    }

    public static void Save(string path, Action<string> writePng)
    {
        var full = Validate(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp.png");
        try
        {
            writePng(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PlotPathException($"{path}: cannot write the plot ({e.Message.TrimEnd('.')}).");
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}

/// <summary>A plot path that cannot be written: a usage error, reported in one line.</summary>
public sealed class PlotPathException(string message) : Exception(message);
