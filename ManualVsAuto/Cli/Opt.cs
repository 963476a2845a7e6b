using System.CommandLine;
using System.Globalization;

namespace ManualVsAuto.Cli;

/// <summary>Option factories with range checks, so a bad value is a parse error (exit code 2), not a crash.</summary>
public static class Opt
{
    public static Option<int> Int(string name, int defaultValue, string description, int min, string? why = null)
    {
        var o = new Option<int>(name) { Description = $"{description} (default: {defaultValue.ToString("N0", CultureInfo.InvariantCulture)})", DefaultValueFactory = _ => defaultValue };
        o.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < min) r.AddError($"{name} must be at least {min}{(why is null ? "" : $" ({why})")}, got {r.GetValueOrDefault<int>()}.");
        });
        return o;
    }

    public static Option<double> PositiveDouble(string name, double defaultValue, string description)
    {
        var o = new Option<double>(name) { Description = $"{description} (default: {defaultValue.ToString(CultureInfo.InvariantCulture)})", DefaultValueFactory = _ => defaultValue };
        o.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            if (!(v > 0) || double.IsInfinity(v)) r.AddError($"{name} must be a positive number, got {v.ToString(CultureInfo.InvariantCulture)}.");
        });
        return o;
    }

    public static Option<ulong> Seed(ulong defaultValue, string description) =>
        new("--seed") { Description = $"{description} (default: {defaultValue})", DefaultValueFactory = _ => defaultValue };

    public static Option<string?> Path(string name, string description) =>
        new(name) { Description = description };

    public static Option<int> Threads() =>
        Int("--threads", 1, "libtorch intra-op threads; 1 is fastest for a model this small", 1);
}
