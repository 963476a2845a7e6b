namespace ManualVsAuto.Plots;

/// <summary>Where plots go: a .png path (its folder is created), written through a temporary file.</summary>
public static class PngFile
{
    /// <summary>Checks the path before any work is done, so a typo does not cost a training run.</summary>
    public static string Validate(string path)
    {
        var full = Path.GetFullPath(path);
        if (!full.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            throw new PlotPathException($"{path}: a plot is written as PNG; give a path ending in .png.");
        if (Directory.Exists(full)) throw new PlotPathException($"{path}: is a folder, not a file.");
        return full;
    }

    public static void Save(string path, Action<string> writePng)
    {
        var full = Validate(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + ".tmp.png";
        try
        {
            writePng(tmp);
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}

/// <summary>A plot path that cannot be written: a usage error, reported in one line.</summary>
public sealed class PlotPathException(string message) : Exception(message);
