using Spectre.Console;

namespace ManualVsAuto.Cli;

/// <summary>The Spectre console for stdout; wide enough that no report line wraps when redirected to a file.</summary>
public static class Terminal
{
    public static IAnsiConsole Console()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Out) });
        if (System.Console.IsOutputRedirected) console.Profile.Width = 1000; // a file or pipe: keep each line whole
        return console;
    }
}
