using Spectre.Console;

namespace ManualVsAuto.Cli;

/// <summary>The Spectre console for stdout; wide enough for the report even when redirected to a file.</summary>
public static class Terminal
{
    public static IAnsiConsole Console()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Out) });
        if (System.Console.IsOutputRedirected) console.Profile.Width = 120;
        return console;
    }
}
