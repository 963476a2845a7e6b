using Spectre.Console;

namespace ManualVsAuto.Cli;

/// <summary>The Spectre console for stdout; wide enough that no report line wraps when redirected to a file.</summary>
public static class Terminal
{
    /// <param name="output">stdout unless given.</param>
    public static IAnsiConsole Console(TextWriter? output = null)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(output ?? System.Console.Out) });
        if (System.Console.IsOutputRedirected) console.Profile.Width = 1000; // a file or pipe: keep each line whole
        return console;
    }
}
