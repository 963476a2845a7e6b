using System.Reflection;
using System.Security;
using System.Text;
using ManualVsAuto.Workbook;

namespace ManualVsAuto.Scaffold;

/// <summary>Where a workbook gets the ManualVsAuto library from.</summary>
public abstract record LibrarySource
{
    /// <summary>The library project of a clone (by absolute path), with the clone's TorchSharp native-load fix.</summary>
    public sealed record FromClone(string LibraryProject, string TargetsFile) : LibrarySource;

    /// <summary>The ManualVsAuto package from a local folder feed; the fix comes with it (buildTransitive).</summary>
    public sealed record FromPackage(string Feed, string Version) : LibrarySource;
}

/// <summary>
/// The files of a new workbook, from the templates embedded in this program (Scaffold/Template/*.template):
/// the project, the five exercises with blanks, the report's Main, one test per answer, a README.
/// </summary>
public static class WorkbookScaffold
{
    private const string ResourcePrefix = "ManualVsAuto.Scaffold.Template.";

    /// <summary>The files, by path relative to the workbook folder.</summary>
    public static IReadOnlyList<(string Path, string Text)> Files(LibrarySource source, string namesFile)
    {
        var files = new List<(string, string)>
        {
            ("Ninja.csproj", Template("Ninja.csproj").Replace("{{LIBRARY}}", LibraryItems(source))),
            ("Directory.Build.props", Template("Directory.Build.props")),
            ("Directory.Build.targets", Template("Directory.Build.targets")),
            (".gitignore", Template("gitignore")),
            ("README.md", Template("README.md").Replace("{{SOURCE}}", Describe(source))),
            ("Setup.cs", Template("Setup.cs").Replace("{{NAMES_FILE}}", CSharpString(namesFile))),
            ("Program.cs", Template("Program.cs")),
            ("Exercise1.cs", Template("Exercise1.cs")),
            ("Exercise2.cs", Template("Exercise2.cs")),
            ("Exercise3.cs", Template("Exercise3.cs")),
            ("Exercise4.cs", Template("Exercise4.cs")),
            ("Exercise5.cs", Template("Exercise5.cs")),
            ("Tests.cs", Template("Tests.cs").Replace("{{LINE_TESTS}}", LineTests())),
            ("Exercise5Tests.cs", Template("Exercise5Tests.cs")),
        };
        if (source is LibrarySource.FromPackage p)
        {
            files.Add(("nuget.config",
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration>\n  <packageSources>\n" +
                $"    <!-- The local feed the ManualVsAuto package comes from; your other sources stay. -->\n" +
                $"    <add key=\"manualvsauto-local\" value=\"{Xml(p.Feed)}\" />\n  </packageSources>\n</configuration>\n"));
        }
        return files;
    }

    public static string Describe(LibrarySource source) => source switch
    {
        LibrarySource.FromClone c => $"the library project {c.LibraryProject}",
        LibrarySource.FromPackage p => $"the package ManualVsAuto {p.Version} from {p.Feed}",
        _ => throw new ArgumentOutOfRangeException(nameof(source)),
    };

    private static string LibraryItems(LibrarySource source) => source switch
    {
        LibrarySource.FromClone c =>
            "  <!-- The ManualVsAuto library (not its command line) of the clone this workbook was made from. -->\n" +
            $"  <ItemGroup>\n    <ProjectReference Include=\"{Xml(c.LibraryProject)}\" />\n  </ItemGroup>\n\n" +
            "  <!-- The TorchSharp native-load fix: without it libtorch does not load on Debian 12. -->\n" +
            $"  <Import Project=\"{Xml(c.TargetsFile)}\" />\n",
        LibrarySource.FromPackage p =>
            "  <!-- The ManualVsAuto library from the feed in nuget.config; it brings the TorchSharp native-load fix. -->\n" +
            $"  <ItemGroup>\n    <PackageReference Include=\"ManualVsAuto\" Version=\"{Xml(p.Version)}\" />\n  </ItemGroup>\n",
        _ => throw new ArgumentOutOfRangeException(nameof(source)),
    };

    /// <summary>One test per Exercise-1 gradient, numbered in the lecture's order so test runners list them in it.</summary>
    private static string LineTests()
    {
        var sb = new StringBuilder();
        var names = WorkbookGrader.Names;
        for (int i = 0; i < names.Count; i++)
        {
            if (i > 0) sb.Append('\n');
            sb.Append($"    [SkippableFact]\n    public void Line{i + 1:00}_d{names[i]}() => Grades.Verify(Grades.Lecture.Value.Line(\"{names[i]}\"));\n");
        }
        return sb.ToString().TrimEnd('\n');
    }

    private static string Template(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourcePrefix + name + ".template")
            ?? throw new InvalidOperationException($"the workbook template {name} is not embedded in this program");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private static string Xml(string s) => SecurityElement.Escape(s);

    /// <summary>A verbatim C# string literal.</summary>
    private static string CSharpString(string s) => "@\"" + s.Replace("\"", "\"\"") + "\"";
}
