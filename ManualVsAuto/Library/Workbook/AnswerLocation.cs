using System.Diagnostics;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;

namespace ManualVsAuto.Workbook;

/// <summary>
/// Where an answer is in the learner's source, as <c>Exercise1.cs(LINE,COL)</c> (the form editors and terminals
/// link): for an exception, its deepest frame in the workbook's own code; for a wrong value, the first statement of
/// the answer's method, read from the workbook's portable PDB. Null when the PDB is not there.
/// </summary>
internal static class AnswerLocation
{
    /// <summary>The first statement of <paramref name="method"/> of <paramref name="exercise"/>'s class (by name, e.g. "dprobs").</summary>
    public static string? OfMethod(object exercise, string method)
    {
        try
        {
            var m = exercise.GetType().GetMethod(method, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance);
            if (m is null) return null;
            var reader = Pdb(m.Module.Assembly);
            if (reader is null) return null;
            var info = reader.GetMethodDebugInformation((MethodDefinitionHandle)MetadataTokens.EntityHandle(m.MetadataToken));
            foreach (var point in info.GetSequencePoints())
            {
                if (point.IsHidden) continue;
                string file = reader.GetString(reader.GetDocument(point.Document).Name);
                return Format(file, point.StartLine, point.StartColumn);
            }
        }
        catch (Exception e) when (e is BadImageFormatException or IOException or InvalidOperationException or ArgumentException)
        {
        }
        return null;
    }

    /// <summary>The deepest frame of <paramref name="e"/> in <paramref name="workbook"/>'s code that has a file and a line.</summary>
    public static string? OfException(Exception e, Assembly workbook)
    {
        foreach (var frame in new StackTrace(e, fNeedFileInfo: true).GetFrames())
        {
            if (frame.GetMethod()?.Module.Assembly != workbook) continue;
            if (frame.GetFileName() is { } file && frame.GetFileLineNumber() > 0)
                return Format(file, frame.GetFileLineNumber(), Math.Max(1, frame.GetFileColumnNumber()));
        }
        return null;
    }

    private static string Format(string file, int line, int column) => $"{Path.GetFileName(file)}({line},{column})";

    private static readonly Dictionary<Assembly, MetadataReader?> Readers = [];

    private static MetadataReader? Pdb(Assembly assembly)
    {
        lock (Readers)
        {
            if (Readers.TryGetValue(assembly, out var known)) return known;
            MetadataReader? reader = null;
            string pdb = Path.ChangeExtension(assembly.Location, ".pdb");
            if (assembly.Location.Length > 0 && File.Exists(pdb))
            {
                // Kept open for the process: the workbook's PDB is small, and a reader reads from its provider.
                var provider = MetadataReaderProvider.FromPortablePdbStream(File.OpenRead(pdb));
                reader = provider.GetMetadataReader();
            }
            Readers[assembly] = reader;
            return reader;
        }
    }
}
