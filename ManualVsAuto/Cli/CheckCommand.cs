using System.CommandLine;
using ManualVsAuto.Checking;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Plots;
using ManualVsAuto.Reporting;
using Spectre.Console;
using static TorchSharp.torch;

namespace ManualVsAuto.Cli;

/// <summary><c>check</c>: Exercise 1's 26 rows plus the fused rows of Exercises 2 and 3.</summary>
public static class CheckCommand
{
    /// <summary>The console table is the default format: registered first, once, before any command is built.</summary>
    static CheckCommand() => ReportRenderers.Register(TableRenderer.Instance, first: true);

    /// <summary><c>--format</c>'s choices: the registered renderers, the table first.</summary>
    public static IReadOnlyList<IReportRenderer> Renderers => ReportRenderers.All;

    public static Command Create()
    {
        var seed = OptionFactory.Seed(ModelKinds.Default.LectureSeed, "seed of the torch generator for the parameters and the minibatch; the split keeps the lecture's 42");
        var batch = OptionFactory.Int("--batch-size", 32, "minibatch size", 2, "the variance divides by n-1");
        var hidden = OptionFactory.Int("--hidden", ModelKinds.Default.CheckNHidden, "hidden units", 1);
        var data = OptionFactory.Path("--data", "path to names.txt (default: data/names.txt in the repository, downloaded if missing)");
        var threads = OptionFactory.Threads();
        var dtype = new Option<string>("--dtype")
        {
            Description = "float32 (the lecture) or float64; float64 draws the same parameters, then converts",
            DefaultValueFactory = _ => "float32",
        }.AcceptOnlyFromAmong("float32", "float64");
        var renderers = Renderers;
        var format = new Option<string>("--format")
        {
            Description = string.Join("; ", renderers.Select(x => $"{x.Name}: {x.Description}")),
            DefaultValueFactory = _ => renderers[0].Name,
        }.AcceptOnlyFromAmong([.. renderers.Select(x => x.Name)]);
        var require = new Option<string>("--require")
        {
            Description = "exit 0 only if every gradient row is at least this: exact or approx. The fused rows (Exercises 2 and 3) " +
                          "cannot be exact by construction and are always judged approx; the forward lines never count",
            DefaultValueFactory = _ => "approx",
        }.AcceptOnlyFromAmong("approx", "exact");
        var numeric = new Option<string>("--numeric")
        {
            Description = "finite-difference oracle on the 7 parameters, in float64: fast (4 random directions per parameter: catches a " +
                          "gradient wrong throughout, but a single wrong element is diluted), full (every element, up to 100,000 per " +
                          "parameter: catches a single wrong element) or off",
            DefaultValueFactory = _ => "fast",
        }.AcceptOnlyFromAmong("fast", "full", "off");
        var plot = OptionFactory.Path("--plot", "write the dlogits heatmap (the lecture's plt.imshow) to this .png file");
        var model = OptionFactory.Model(k => $"{k.Description}, {ModelChecks.For(k).Rows}" +
            (k.IsDefault ? "" : $" (--seed {k.LectureSeed} and --hidden {k.CheckNHidden} unless given)"));

        var cmd = new Command("check",
            "Compare every manual gradient with autograd's and print the report (the default command).")
        {
            seed, batch, hidden, data, threads, dtype, format, require, numeric, plot, model,
        };
        cmd.SetAction(r =>
        {
            var kind = OptionFactory.ModelOf(r, model);
            var modelCheck = ModelChecks.For(kind);
            if (!modelCheck.HasDlogits && r.GetValue(plot) is not null)
                throw new UserInputException($"--plot draws the MLP's dlogits: it applies to {string.Join(" or ", ModelKinds.All.Where(k => ModelChecks.For(k).HasDlogits).Select(k => $"--model {k.Name}"))} only.");
            var plotPath = r.GetValue(plot) is { } pp ? PngFile.Validate(pp) : null;
            bool Given(Option o) => r.GetResult(o) is { Implicit: false };
            var settings = new CheckSettings(
                Given(seed) ? r.GetValue(seed) : kind.LectureSeed, r.GetValue(batch),
                Given(hidden) ? r.GetValue(hidden) : kind.CheckNHidden, OptionFactory.CapThreads(r.GetValue(threads), Console.Error),
                r.GetValue(dtype) == "float64" ? ScalarType.Float64 : ScalarType.Float32,
                r.GetValue(numeric) switch { "full" => FiniteDifferenceMode.Full, "off" => null, _ => FiniteDifferenceMode.Fast });
            var path = DataLocator.Resolve(r.GetValue(data), Console.Error);
            var names = NamesFile.Load(path);
            MinimumNames.EnsureTraining("check", names, path);
            int elementSize = settings.Dtype == ScalarType.Float64 ? 8 : 4;
            MemoryBudget.Ensure(MemoryBudget.Check(kind, settings.NHidden, settings.BatchSize, elementSize, settings.Numeric is not null),
                $"check{OptionFactory.ModelFlag(kind)} with --hidden {settings.NHidden}, --batch-size {settings.BatchSize} and --dtype {r.GetValue(dtype)}");
            var split = Dataset.Split(names, kind.BlockSize);
            var progress = Console.IsErrorRedirected ? null : new NumericProgress();
            var report = modelCheck.Run(split.Train, settings, progress is null ? null : progress.Report);
            progress?.Clear();
            var level = Enum.Parse<RequiredLevel>(r.GetValue(require)!, ignoreCase: true);

            ReportRenderers.Find(r.GetValue(format)).Write(report, level, Console.Out);
            if (plotPath is not null && report.Dlogits is { } dl)
            {
                DlogitsHeatmap.Save(dl, plotPath);
                Console.Error.WriteLine($"wrote {plotPath}");
            }
            return report.Passes(level) ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return cmd;
    }
}
