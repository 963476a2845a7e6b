using System.Text.RegularExpressions;
using ManualVsAuto.Data;

namespace ManualVsAuto.Tests;

/// <summary>
/// The library's folders depend one way along the data flow (Data → Model → Backward → Checking → Reporting →
/// Training → Workbook): no source file names a later folder's namespace, by a using or a qualified name.
/// </summary>
public class LayeringTests
{
    private static readonly string[] Order = ["Data", "Model", "Backward", "Checking", "Reporting", "Training", "Workbook"];

    [Fact]
    public void NoLibraryFolderReferencesALaterOne()
    {
        string root = DataLocator.FindRepositoryRoot(AppContext.BaseDirectory)
            ?? throw new InvalidOperationException("the tests run outside the repository");
        string library = Path.Combine(root, "ManualVsAuto", "Library");
        var backward = new List<string>();
        for (int i = 0; i < Order.Length; i++)
            foreach (var file in Directory.EnumerateFiles(Path.Combine(library, Order[i]), "*.cs", SearchOption.AllDirectories))
            {
                var code = string.Join('\n', File.ReadLines(file).Select(l => l.TrimStart()).Where(l => !l.StartsWith("//", StringComparison.Ordinal)));
                foreach (var later in Order.Skip(i + 1))
                    if (Regex.IsMatch(code, $@"\b(using\s+ManualVsAuto\.{later}\b|ManualVsAuto\.{later}\.|(?<![\w.]){later}\.[A-Z])"))
                        backward.Add($"{Path.GetRelativePath(library, file)} → {later}");
            }
        Assert.Empty(backward);
    }
}
