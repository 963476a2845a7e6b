using ManualVsAuto.Checking;
using ManualVsAuto.Model;

// A report format is one IReportRenderer registered here; check's --format takes its choices, their help and the
// default (the first) from ReportRenderers.All. The CLI registers its console table first; the library's are markdown,
// json and csv. To add a format: implement IReportRenderer and call ReportRenderers.Register(renderer) once, before
// the command line is built (ReportRendererTests does it from a test).

namespace ManualVsAuto.Reporting;

/// <summary>One format of <see cref="CheckReport"/>: its <c>--format</c> name, a phrase for the help, and the writing.</summary>
public interface IReportRenderer
{
    /// <summary>The value of <c>--format</c>.</summary>
    string Name { get; }

    /// <summary>What it is for, one phrase for <c>--format</c>'s help.</summary>
    string Description { get; }

    /// <param name="require">The level the report judges the rows at (check's <c>--require</c>).</param>
    void Write(CheckReport report, RequiredLevel require, TextWriter output);
}

/// <summary>The registered report formats, in <c>--format</c>'s order; the first is the default.</summary>
public static class ReportRenderers
{
    private static readonly Lock Gate = new();
    private static readonly List<IReportRenderer> Registered = [MarkdownRenderer.Instance, JsonRenderer.Instance, CsvRenderer.Instance];

    public static IReadOnlyList<IReportRenderer> All
    {
        get { lock (Gate) return [.. Registered]; }
    }

    /// <summary>Adds a format, last or (<paramref name="first"/>) as the new default; disposing the result removes it.</summary>
    /// <exception cref="ArgumentException">A format of that name is registered already.</exception>
    public static IDisposable Register(IReportRenderer renderer, bool first = false)
    {
        lock (Gate)
        {
            if (Registered.Any(r => r.Name == renderer.Name)) throw new ArgumentException($"a format named '{renderer.Name}' is registered already", nameof(renderer));
            Registered.Insert(first ? 0 : Registered.Count, renderer);
        }
        return new Registration(() => { lock (Gate) Registered.Remove(renderer); });
    }

    /// <exception cref="ArgumentException">No format of that name is registered.</exception>
    public static IReportRenderer Find(string? name) =>
        All.FirstOrDefault(r => r.Name == name) ?? throw new ArgumentException($"no report format named '{name}' is registered", nameof(name));
}
