using System.Diagnostics;

namespace ManualVsAuto.Cli;

/// <summary>The finite-difference check's progress on a terminal's stderr, once it has taken more than a second.</summary>
internal sealed class NumericProgress
{
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private long lastShown = -1;

    public void Report(string name, long done, long total)
    {
        long ms = clock.ElapsedMilliseconds;
        if (ms < 1000 || (ms - lastShown < 100 && done != total)) return;
        lastShown = ms;
        Console.Error.Write($"\rnumeric check: {name} {done}/{total}    ");
    }

    public void Clear()
    {
        if (lastShown >= 0) Console.Error.Write("\r" + new string(' ', 60) + "\r");
    }
}
