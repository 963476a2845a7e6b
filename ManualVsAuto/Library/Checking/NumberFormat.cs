using System.Globalization;

namespace ManualVsAuto.Checking;

/// <summary>How numbers look in the human-readable formats (JSON and CSV keep full precision).</summary>
public static class NumberFormat
{
    public static string Diff(double d) => d == 0 ? "0.0" : d.ToString("0.###e+00", CultureInfo.InvariantCulture);

    public static string Value(double d) => d.ToString("G6", CultureInfo.InvariantCulture);

    public static string Full(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    public static string Ulps(long u) => u == long.MaxValue ? "∞" : u.ToString(CultureInfo.InvariantCulture);
}
