using System.Text.Json;
using System.Text.Json.Serialization;
using ManualVsAuto.Checking;

namespace ManualVsAuto.Reporting;

/// <summary>
/// The machine-readable report; its schema ("manualvsauto.report/3") is documented in the README.
/// Numbers keep full precision; non-finite ones are the strings "NaN", "Infinity", "-Infinity".
/// </summary>
public sealed class JsonRenderer : IReportRenderer
{
    public static readonly JsonRenderer Instance = new();

    private JsonRenderer()
    {
    }

    public string Name => "json";

    public string Description => $"the machine-readable report (schema {Schema})";

    public void Write(CheckReport report, RequiredLevel require, TextWriter output) => output.Write(Render(report, require) + Environment.NewLine);

    public const string Schema = "manualvsauto.report/3";

    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static string Render(CheckReport r, RequiredLevel require) =>
        JsonSerializer.Serialize(ToDocument(r, require), Options);

    public static JsonReport ToDocument(CheckReport r, RequiredLevel require) => new(
        Schema,
        new JsonSettings(r.Settings.Seed, r.Settings.BatchSize, r.Settings.NHidden, SharedReportText.DtypeName(r.Settings.Dtype), r.Settings.Threads, r.Model),
        new JsonVersions(r.TorchSharpVersion, r.LibTorchVersion),
        r.Loss,
        require,
        r.Rows.Select(row => new JsonRow(
            row.Name, row.Shape, row.Verdict, row.VerdictText, row.InheritsFrom, row.DecidedLocally, row.Cause, row.Evidence, row.Rounding, row.ManualShape,
            row.Exact, row.Approximate, row.ExpectExact, row.Meets(require), row.MaxDiff, row.MaxRelDiff,
            row.WorstIndex, row.ManualAtWorst, row.ReferenceAtWorst, row.Ulps, row.Mismatches, row.NotClose, row.Hint,
            row.Numeric is { } n
                ? new JsonNumeric(n.Mode.ToString().ToLowerInvariant(), n.Passed, n.WorstAbsDiff, n.NumericAtWorst, n.ManualAtWorst, n.Checked, n.ConvertedToFloat64, n.Note)
                : null)).ToList(),
        r.Forward.Select(f => new JsonForward(f.Name, f.MaxDiff)).ToList(),
        r.Summary,
        r.Passes(require));

    public static JsonReport Parse(string json) =>
        JsonSerializer.Deserialize<JsonReport>(json, Options) ?? throw new JsonException("empty report");
}

public sealed record JsonReport(
    string Schema, JsonSettings Settings, JsonVersions Versions, double Loss, RequiredLevel Require,
    IReadOnlyList<JsonRow> Rows, IReadOnlyList<JsonForward> Forward, string Summary, bool Passed);

public sealed record JsonSettings(ulong Seed, int BatchSize, int Hidden, string Dtype, int Threads, string Model);

public sealed record JsonVersions(string TorchSharp, string LibTorch);

public sealed record JsonRow(
    string Name, long[] Shape, Verdict Verdict, string VerdictText, IReadOnlyList<string> InheritsFrom, bool DecidedLocally,
    string? Cause, string? Evidence, string? Rounding, long[]? ManualShape,
    bool Exact, bool Approximate, bool ExpectExact, bool Passed, double MaxDiff, double MaxRelDiff,
    long[]? WorstIndex, double ManualAtWorst, double ReferenceAtWorst, long? Ulps, long Mismatches, long NotClose,
    string? Hint, JsonNumeric? Numeric);

public sealed record JsonNumeric(
    string Mode, bool Passed, double WorstAbsDiff, double NumericAtWorst, double ManualAtWorst, long Checked,
    bool ConvertedToFloat64, string? Note);

public sealed record JsonForward(string Name, double MaxDiff);
