using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using ManualVsAuto.Model;

namespace ManualVsAuto.Cli;

/// <summary>
/// Option factories whose parse and range errors say in words what is allowed (never a .NET type name), so a bad
/// value is a one-line parse error (exit code 2), not a crash. System.CommandLine prints each default in --help as
/// "[default: …]".
/// </summary>
public static class OptionFactory
{
    public static Option<int> Int(string name, int defaultValue, string description, int min, string? why = null, int max = int.MaxValue) =>
        Parsed(new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue }, text =>
            !int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v)
                ? (0, $"{name} must be a whole number from {min} to {max}, got '{text}'.")
                : v < min ? (v, $"{name} must be at least {min}{(why is null ? "" : $" ({why})")}, got {v}.")
                : v > max ? (v, string.Create(CultureInfo.InvariantCulture, $"{name} must be at most {max:N0}, got {v:N0}."))
                : (v, null));

    /// <summary>A positive, finite number. Every spelling of infinity or NaN (Infinity, inf, ∞, NaN, nan) gets the same message.</summary>
    public static Option<double> PositiveDouble(string name, double defaultValue, string description) =>
        Parsed(new Option<double>(name) { Description = description, DefaultValueFactory = _ => defaultValue }, text =>
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 && double.IsFinite(v)
                ? (v, null)
                : (0, $"{name} must be a positive number such as 0.1 or 1e-3 (not infinite or NaN), got '{text}'."));

    public static Option<ulong> Seed(ulong defaultValue, string description) =>
        Parsed(new Option<ulong>("--seed") { Description = description, DefaultValueFactory = _ => defaultValue }, text =>
            ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v)
                ? (v, null)
                : (0, $"--seed must be a whole number from 0 to {ulong.MaxValue}, got '{text}'."));

    public static Option<string?> Path(string name, string description)
    {
        var option = new Option<string?>(name) { Description = description };
        option.Validators.Add(r => NotEmpty(r, name));
        return option;
    }

    /// <summary>An empty or blank path ("") is a parse error naming <paramref name="name"/>, not a crash later.</summary>
    public static void NotEmpty(SymbolResult r, string name)
    {
        if (r.Tokens.Count > 0 && string.IsNullOrWhiteSpace(r.Tokens[^1].Value))
            r.AddError($"{name} needs a path, got '{r.Tokens[^1].Value}'.");
    }

    public static Option<int> Threads() =>
        Int("--threads", 1, $"libtorch intra-op threads, at most the processor count ({Environment.ProcessorCount} here); 1 is fastest for a model this small", 1);

    /// <summary><c>--model</c>: its choices are the registered nets (<see cref="ModelKinds"/>), or <paramref name="kinds"/>;
    /// the help says <c>name: what it is</c> for each, with <paramref name="describe"/>'s words for this command.</summary>
    public static Option<string> Model(Func<ModelKind, string> describe, IEnumerable<ModelKind>? kinds = null)
    {
        var choices = (kinds ?? ModelKinds.All).ToList();
        return new Option<string>("--model")
        {
            Description = string.Join("; ", choices.Select(k => $"{k.Name}: {describe(k)}")),
            DefaultValueFactory = _ => ModelKinds.Default.Name,
        }.AcceptOnlyFromAmong([.. choices.Select(k => k.Name)]);
    }

    /// <summary>The net an option value names (the parser has accepted it already).</summary>
    public static ModelKind ModelOf(ParseResult r, Option<string> model) => ModelKinds.Parse(r.GetValue(model));

    /// <summary><c> --model NAME</c> to repeat in a suggested command, or nothing for the default net.</summary>
    public static string ModelFlag(ModelKind kind) => kind.IsDefault ? "" : $" --model {kind.Name}";

    /// <summary>The thread count to use: more threads than processors only slow libtorch down, so they are capped, with a warning.</summary>
    public static int CapThreads(int requested, TextWriter warnings)
    {
        int processors = Environment.ProcessorCount;
        if (requested <= processors) return requested;
        warnings.WriteLine($"warning: --threads {requested} is more than the {processors} processors here; using {processors}.");
        return processors;
    }

    /// <summary>Parses the option's single token with <paramref name="parse"/>, which returns the value and an error or null.</summary>
    private static Option<T> Parsed<T>(Option<T> option, Func<string, (T Value, string? Error)> parse)
    {
        option.CustomParser = (ArgumentResult r) =>
        {
            if (r.Tokens.Count == 0) return default!;
            var (value, error) = parse(r.Tokens[^1].Value);
            if (error is not null) r.AddError(error);
            return value;
        };
        return option;
    }
}
