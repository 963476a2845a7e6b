using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ManualVsAuto.Training;

/// <summary>
/// <see cref="TrainingDiagnostics"/> as text (part 3's printed tables, for the console), JSON (every sample, the
/// latest one's histograms, the warnings) and CSV (one row per sample and layer or parameter).
/// </summary>
public static class DiagnosticsFiles
{
    public const string JsonSchema = "manualvsauto.diagnostics/1";

    /// <summary>Part 3's four printouts for the latest sample, then the warnings (or that there are none).</summary>
    public static string Text(TrainingDiagnostics d, IReadOnlyList<string> warnings)
    {
        var sb = new StringBuilder();
        void Line(FormattableString s) => sb.Append(s.ToString(CultureInfo.InvariantCulture)).Append('\n');
        if (d.Last is not { } s) return "diagnostics: no step was sampled\n";
        Line($"diagnostics at step {s.Step:N0} (lr {s.Lr}), from the step's own backward; sampled every {d.Every:N0} steps ({d.Samples.Count:N0} samples)");
        Line($"activation distribution (Tanh outputs):");
        foreach (var a in s.Activations)
            Line($"  {a.Layer,-20} mean {(a.Mean < 0 ? "-" : "+") + Math.Abs(a.Mean).ToString("0.00", CultureInfo.InvariantCulture),5}, std {a.Std:F2}, saturated: {a.SaturatedPercent:F2}% ({a.Saturated:N0} of {a.Count:N0})");
        Line($"gradient distribution (d loss / d layer output):");
        foreach (var g in s.Gradients)
            Line($"  {g.Layer,-30} mean {g.Mean,13:+0.000000e+00;-0.000000e+00}, std {g.Std:0.000000e+00}");
        Line($"weights gradient distribution:");
        foreach (var w in s.Weights)
            Line($"  {w.Name,-20} {"(" + string.Join(", ", w.Shape) + ")",-10} | mean {w.GradMean,13:+0.000000e+00;-0.000000e+00} | std {w.GradStd:0.000000e+00} | grad:data ratio {w.GradToData:0.000000e+00}");
        Line($"update:data, log10((lr·grad).std() / p.std()) (part 3's guide: about -3):");
        foreach (var u in s.Updates.Where(u => u.Dims == 2))
            Line($"  {u.Name,-20} {u.Log10:F2}");
        if (warnings.Count == 0) Line($"no warnings: saturation ≤ {DiagnosticWarnings.SaturationPercent}%, update:data within 10^±{DiagnosticWarnings.UpdateBand} of 1e-3, gradients within {DiagnosticWarnings.NeighbourFactor}× of their neighbours");
        foreach (var w in warnings) Line($"warning: {w}");
        return sb.ToString();
    }

    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <param name="model">The net's name (mlp, wavenet, deep).</param>
    public static string Json(TrainingDiagnostics d, string model, IReadOnlyList<string> warnings) =>
        JsonSerializer.Serialize(new { Schema = JsonSchema, Model = model, Every = d.Every, Warnings = warnings, d.Samples }, Options);

    public const string CsvHeader = "step,lr,kind,name,shape,mean,std,saturated_percent,grad_to_data,update_to_data_log10";

    public static string Csv(TrainingDiagnostics d)
    {
        var sb = new StringBuilder(CsvHeader).Append('\n');
        void Row(DiagnosticSample s, string kind, string name, string shape, double? mean, double? std, double? saturated, double? gradToData, double? update) =>
            sb.Append(string.Join(',', s.Step.ToString(CultureInfo.InvariantCulture), N(s.Lr), kind, name, shape, N(mean), N(std), N(saturated), N(gradToData), N(update))).Append('\n');
        foreach (var s in d.Samples)
        {
            foreach (var a in s.Activations) Row(s, "activation", a.Layer, "", a.Mean, a.Std, a.SaturatedPercent, null, null);
            foreach (var g in s.Gradients) Row(s, "gradient", g.Layer, "", g.Mean, g.Std, null, null, null);
            foreach (var w in s.Weights) Row(s, "weight_gradient", w.Name, string.Join('x', w.Shape), w.GradMean, w.GradStd, null, w.GradToData, null);
            foreach (var u in s.Updates) Row(s, "update", u.Name, "", null, null, null, null, u.Log10);
        }
        return sb.ToString();
    }

    private static string N(double? x) => x is { } v ? v.ToString("R", CultureInfo.InvariantCulture) : "";
}
