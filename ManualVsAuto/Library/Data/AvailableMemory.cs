using System.Globalization;

namespace ManualVsAuto.Data;

/// <summary>
/// What memory this process can still use, to refuse work that cannot fit before anything is allocated (the CLI's
/// memory budgets, a names file too large to load), instead of letting .NET or libtorch fail halfway.
/// </summary>
public static class AvailableMemory
{
    /// <summary>Memory this process can use: Linux's MemAvailable (free memory plus reclaimable cache), capped by
    /// what .NET sees as the machine's or the container's limit; that limit alone where /proc/meminfo is absent.</summary>
    public static long Bytes()
    {
        long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return MemAvailable() is { } m ? Math.Min(m, limit) : limit;
    }

    /// <summary>MemAvailable from /proc/meminfo in bytes, or null.</summary>
    public static long? MemAvailable(string path = "/proc/meminfo")
    {
        try
        {
            if (!File.Exists(path)) return null;
            foreach (var line in File.ReadLines(path))
            {
                if (!line.StartsWith("MemAvailable:", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return parts.Length >= 2 && long.TryParse(parts[1], CultureInfo.InvariantCulture, out long kb) ? kb * 1024 : null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>A size for a message: <c>12 MB</c>, <c>1.5 GB</c>, <c>120 GB</c>.</summary>
    public static string Size(double bytes) => bytes >= 1e11
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:N0} GB")
        : bytes >= 1e9
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:F1} GB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F0} MB");
}
