using System.CommandLine;
using System.Globalization;

namespace ManualVsAuto.Cli;

/// <summary>
/// Option factories with range checks, so a bad value is a parse error (exit code 2), not a crash.
/// System.CommandLine prints each default in --help as "[default: …]".
/// </summary>
public static class Opt
{
    public static Option<int> Int(string name, int defaultValue, string description, int min, string? why = null) =>
        Checked(new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue },
            v => v < min ? $"{name} must be at least {min}{(why is null ? "" : $" ({why})")}, got {v}." : null);

    public static Option<double> PositiveDouble(string name, double defaultValue, string description) =>
        Checked(new Option<double>(name) { Description = description, DefaultValueFactory = _ => defaultValue },
            v => !(v > 0) || double.IsInfinity(v) ? $"{name} must be a positive number, got {v.ToString(CultureInfo.InvariantCulture)}." : null);

    public static Option<ulong> Seed(ulong defaultValue, string description) =>
        new("--seed") { Description = description, DefaultValueFactory = _ => defaultValue };

    public static Option<string?> Path(string name, string description) =>
        new(name) { Description = description };

    public static Option<int> Threads() =>
        Int("--threads", 1, "libtorch intra-op threads; 1 is fastest for a model this small", 1);

    public static Option<string> Model(string description) =>
        new Option<string>("--model") { Description = description, DefaultValueFactory = _ => "mlp" }.AcceptOnlyFromAmong("mlp", "wavenet");

    /// <summary>Adds a range check that runs only once the value parsed: the parser reports unparsable text itself.</summary>
    private static Option<T> Checked<T>(Option<T> option, Func<T, string?> problem) where T : ISpanParsable<T>
    {
        option.Validators.Add(r =>
        {
            if (!r.Tokens.All(t => T.TryParse(t.Value, CultureInfo.InvariantCulture, out _))) return;
            if (problem(r.GetValueOrDefault<T>()) is { } message) r.AddError(message);
        });
        return option;
    }
}
