using System.CommandLine;
using ManualVsAuto.Data;
using ManualVsAuto.Scaffold;
using ManualVsAuto.Workbook;

namespace ManualVsAuto.Cli;

/// <summary><c>workbook new DIR</c>: makes a project with the lecture's exercises as blanks for a learner to fill.</summary>
public static class WorkbookCommand
{
    public static Command Create()
    {
        var dir = new Argument<string>("DIR") { Description = "the folder to make the workbook in; it must not exist or be empty" };
        dir.Validators.Add(r => OptionFactory.NotEmpty(r, "DIR"));
        var package = new Option<string[]>("--package")
        {
            Description = "reference the ManualVsAuto package VERSION from the local folder feed FEED instead of this clone's library project",
            Arity = new ArgumentArity(2, 2),
            AllowMultipleArgumentsPerToken = true,
            HelpName = "FEED VERSION",
        };
        var data = OptionFactory.Path("--data", "names.txt to record in the workbook (default: data/names.txt in the repository, downloaded if missing)");
        var create = new Command("new", "Make a workbook: a .NET project with the lecture's four exercises as blanks, graded by `dotnet test` and `dotnet run` in it.")
        {
            dir, package, data,
        };
        create.SetAction(r => New(r.GetValue(dir)!, r.GetValue(package), r.GetValue(data)));
        return new Command("workbook", "Learn it: the lecture as exercises you solve in C#.") { create };
    }

    private static int New(string dir, string[]? package, string? data)
    {
        string target = Path.GetFullPath(dir);
        // Checked before anything else runs (a data download included): an existing folder is never touched.
        if (File.Exists(target)) throw new UserInputException($"{dir}: is a file; give a new folder for the workbook.");
        if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())
            throw new UserInputException($"{dir}: the folder exists and is not empty; give a new or empty folder (nothing was written).");

        LibrarySource source = package is [var feed, var version] ? PackageSource(feed, version) : CloneSource();
        string namesFile = DataLocator.Resolve(data, Console.Error);
        // Read as check reads it: a file the workbook could not grade with is refused now, not at its first run.
        WorkbookProgram.EnsureEnough(NamesFile.Load(namesFile).Count, namesFile);

        var files = WorkbookScaffold.Files(source, namesFile);
        bool made = !Directory.Exists(target);
        var written = new List<string>();
        try
        {
            Directory.CreateDirectory(target);
            foreach (var (path, text) in files)
            {
                string file = Path.Combine(target, path);
                written.Add(file); // before writing: a half-written file is taken back too
                File.WriteAllText(file, text);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Take back only what this run wrote: the folder was new or empty, so no file of the user's is touched.
            foreach (var file in written) File.Delete(file);
            if (made && Directory.Exists(target) && !Directory.EnumerateFileSystemEntries(target).Any()) Directory.Delete(target);
            throw new UserInputException($"{dir}: cannot write the workbook there ({e.Message.TrimEnd('.')}).");
        }

        Console.Out.WriteLine($"Made a workbook in {target}");
        Console.Out.WriteLine($"  library: {WorkbookScaffold.Describe(source)}");
        Console.Out.WriteLine($"  data:    {namesFile}");
        Console.Out.WriteLine($"Next: cd {target}, fill in Exercise1.cs, then `dotnet test` (or `dotnet watch test`) and `dotnet run` for the report.");
        return ExitCodes.Ok;
    }

    /// <summary>The library project of the clone this program was built from (else of the one around the current directory).</summary>
    private static LibrarySource.FromClone CloneSource()
    {
        string root = DataLocator.FindRepositoryRoot(AppContext.BaseDirectory) ?? DataLocator.FindRepositoryRoot(Directory.GetCurrentDirectory())
            ?? throw new UserInputException("not run from a clone of ManualVsAuto (no ManualVsAuto.sln above this program or the current directory): use --package FEED VERSION.");
        string library = Path.Combine(root, "ManualVsAuto", "Library");
        var source = new LibrarySource.FromClone(Path.Combine(library, "ManualVsAuto.Library.csproj"), Path.Combine(library, "buildTransitive", "ManualVsAuto.targets"));
        foreach (var file in new[] { source.LibraryProject, source.TargetsFile })
            if (!File.Exists(file)) throw new UserInputException($"{file}: not found in the clone at {root}; use --package FEED VERSION.");
        return source;
    }

    private static LibrarySource.FromPackage PackageSource(string feed, string version)
    {
        string full = Path.GetFullPath(feed);
        if (!Directory.Exists(full)) throw new UserInputException($"--package: {feed} is not a folder (a local feed: dotnet pack ManualVsAuto/Library -o FEED).");
        if (string.IsNullOrWhiteSpace(version)) throw new UserInputException("--package: the version is empty.");
        string nupkg = $"manualvsauto.{version}.nupkg";
        if (!Directory.EnumerateFiles(full, "*.nupkg").Any(f => Path.GetFileName(f).Equals(nupkg, StringComparison.OrdinalIgnoreCase)))
            throw new UserInputException($"--package: no ManualVsAuto.{version}.nupkg in {full} (make it with dotnet pack ManualVsAuto/Library -o {feed} -p:Version={version}).");
        return new LibrarySource.FromPackage(full, version);
    }
}
