namespace ManualVsAuto.Data;

/// <summary>
/// Finds the names file. In order: the <c>--data PATH</c> the user gave (it must exist; nothing is
/// downloaded over it); else <c>data/names.txt</c> in the repository, whose root (the folder holding
/// <see cref="SolutionFileName"/>) is looked for by walking up from the current directory, then from the
/// program's own folder (so tests running from <c>bin/</c> find it); else, with no repository anywhere,
/// <c>./data/names.txt</c> of the current directory; else the file is downloaded from
/// <see cref="NamesDownloader.Url"/> to <c>&lt;repo&gt;/data/names.txt</c> (or <c>./data/names.txt</c> with no repository).
/// </summary>
public static class DataLocator
{
    public const string SolutionFileName = "ManualVsAuto.sln";
    public const string DataFolderName = "data";
    public const string FileName = "names.txt";

    /// <summary>Resolves the names file as the program does; may download it (progress on <paramref name="status"/>).</summary>
    /// <returns>The full path of an existing names file.</returns>
    /// <exception cref="DataException">The explicit path is missing, or the download failed.</exception>
    public static string Resolve(string? explicitPath, TextWriter status) =>
        Resolve(explicitPath, status, Directory.GetCurrentDirectory(), AppContext.BaseDirectory,
            (target, writer) => new NamesDownloader().Download(target, writer));

    /// <summary>Resolves the names file from the given directories; <paramref name="download"/> is called
    /// with the target path and <paramref name="status"/> only when no file is found, and returns the path written.</summary>
    public static string Resolve(
        string? explicitPath,
        TextWriter status,
        string currentDirectory,
        string? baseDirectory,
        Func<string, TextWriter, string> download)
    {
        if (explicitPath is not null) return ResolveExplicit(explicitPath, currentDirectory);
        return FindExisting(currentDirectory, baseDirectory)
            ?? download(DownloadTarget(currentDirectory, baseDirectory), status);
    }

    /// <summary>The full path of an explicitly given names file, which must exist.</summary>
    public static string ResolveExplicit(string path, string currentDirectory)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new DataException("--data: the path is empty.");
        string full = Path.GetFullPath(path, Path.GetFullPath(currentDirectory));
        string shown = full == path ? path : $"{path} ({full})";
        if (Directory.Exists(full)) throw new DataException($"{shown}: is a directory, not a names file.");
        if (!File.Exists(full)) throw new DataException($"{shown}: file not found.");
        return full;
    }

    /// <summary>An existing <c>data/names.txt</c> (repository from the current directory, then from
    /// <paramref name="baseDirectory"/>, then the current directory when there is no repository), or null.</summary>
    public static string? FindExisting(string currentDirectory, string? baseDirectory)
    {
        foreach (var dir in Candidates(currentDirectory, baseDirectory))
        {
            string file = DataFileIn(dir);
            if (File.Exists(file)) return file;
        }
        return null;
    }

    /// <summary>Where a download goes: <c>&lt;repo&gt;/data/names.txt</c>, or <c>./data/names.txt</c> with no repository.</summary>
    public static string DownloadTarget(string currentDirectory, string? baseDirectory) =>
        DataFileIn(Candidates(currentDirectory, baseDirectory).First());

    /// <summary>The repository root (the folder holding <see cref="SolutionFileName"/>) above the current
    /// directory, else above the program's folder, or null.</summary>
    public static string? FindRepositoryRoot() =>
        FindRepositoryRoot(Directory.GetCurrentDirectory()) ?? FindRepositoryRoot(AppContext.BaseDirectory);

    /// <summary>The nearest folder at or above <paramref name="startDirectory"/> holding <see cref="SolutionFileName"/>, or null.</summary>
    public static string? FindRepositoryRoot(string? startDirectory)
    {
        if (string.IsNullOrEmpty(startDirectory)) return null;
        for (var dir = new DirectoryInfo(Path.GetFullPath(startDirectory)); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, SolutionFileName))) return dir.FullName;
        }
        return null;
    }

    private static string DataFileIn(string root) => Path.Combine(root, DataFolderName, FileName);

    private static IEnumerable<string> Candidates(string currentDirectory, string? baseDirectory)
    {
        string cwd = Path.GetFullPath(currentDirectory);
        var roots = new[] { FindRepositoryRoot(cwd), FindRepositoryRoot(baseDirectory) }
            .OfType<string>()
            .Distinct()
            .ToList();
        return roots.Count > 0 ? roots : [cwd];
    }
}
