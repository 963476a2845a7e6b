using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace ManualVsAuto.Training;

/// <summary>Resident memory of this process, to show that a long run stays flat (libtorch's memory is native, not GC heap).</summary>
public static class ProcessMemory
{
    /// <summary>Current and peak resident set size in MiB (Linux: VmRSS and VmHWM; elsewhere the working set).</summary>
    public static (double Rss, double Peak) Read()
    {
        const string status = "/proc/self/status";
        if (File.Exists(status))
        {
            double rss = 0, peak = 0;
            foreach (var line in File.ReadLines(status))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kb(line);
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kb(line);
            }
            return (rss / 1024, peak / 1024);
        }
        using var p = Process.GetCurrentProcess();
        return (p.WorkingSet64 / 1048576.0, p.PeakWorkingSet64 / 1048576.0);

        static double Kb(string line) =>
            double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    private static bool trimmable = OperatingSystem.IsLinux();

    /// <summary>
    /// glibc's <c>malloc_trim(0)</c>: hands the free pages inside the heap back to the system. libtorch's freed temporaries
    /// stay in glibc's heap, and some allocation patterns (the WaveNet's eval-mode forward, chunk after chunk) grow it by
    /// hundreds of MiB of free space. Does nothing off Linux or without glibc.
    /// </summary>
    public static void TrimNativeHeap()
    {
        if (!trimmable) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            trimmable = false;
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    public static string Describe(int step)
    {
        var (rss, peak) = Read();
        return string.Create(CultureInfo.InvariantCulture, $"memory at step {step:N0}: RSS {rss:F0} MiB, peak RSS {peak:F0} MiB");
    }
}
