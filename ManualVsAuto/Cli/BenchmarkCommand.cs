using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ManualVsAuto.Benchmarks;
using ManualVsAuto.Model;
using ManualVsAuto.Training;

namespace ManualVsAuto.Cli;

/// <summary><c>benchmark</c>: BenchmarkDotNet on one training step per net, manual vs autograd, against the machine's floor.</summary>
public static class BenchmarkCommand
{
    /// <summary>The BenchmarkDotNet class of each net's training step (see Model/ModelKind.cs); a net without one is not offered.</summary>
    public static readonly ModelTable<Type?> Benchmarks = new ModelTable<Type?>(_ => null)
        .With(ModelKinds.Mlp, typeof(TrainingStepBenchmark))
        .With(ModelKinds.WaveNet, typeof(WaveNetStepBenchmark))
        .With(ModelKinds.Deep, typeof(DeepNetStepBenchmark));

    private static (string Name, Type Type)[] Nets =>
        ModelKinds.All.Where(Benchmarks.IsRegistered).Select(k => (k.Name, Benchmarks[k]!)).ToArray();

    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "a short run (fewer iterations) for a first look (default: false)" };
        var model = new Option<string>("--model")
        {
            Description = "all: every net in one run; " + string.Join("; ", ModelKinds.All.Where(Benchmarks.IsRegistered)
                .Select(k => $"{k.Name}: {k.Description}, one step at n_hidden {k.LectureNHidden}")) +
                "; checks: the checker itself (the float64 replay on the lecture's check, a custom-Function rule test)",
            DefaultValueFactory = _ => "all",
        }.AcceptOnlyFromAmong(["all", .. Nets.Select(n => n.Name), Checks]);
        var threads = OptionFactory.Int("--threads", 1, "measure with 1 up to this many libtorch intra-op threads", 1);
        var cmd = new Command("benchmark",
            "Measure one training step per net (batch 32) with BenchmarkDotNet: the manual backward, autograd through the layers and " +
            "with composite ops, the step's matmuls alone (the floor), the training loop per step, and the machine's sgemm " +
            "throughput; then one line per net with the ratios. Run it from a Release build: dotnet run -c Release --project ManualVsAuto -- benchmark")
        { quick, model, threads };
        cmd.SetAction(r =>
        {
#if DEBUG
            Console.Error.WriteLine("warning: this is a Debug build; measure with: dotnet run -c Release --project ManualVsAuto -- benchmark");
#endif
            int maxThreads = OptionFactory.CapThreads(r.GetValue(threads), Console.Error);
            StepBenchmark.ThreadCounts = Enumerable.Range(1, maxThreads).ToArray();
            // In-process: a separately generated benchmark project would not get the TorchSharp native-load fix.
            // Its default 5-minute limit per benchmark is too short for the WaveNet's step on a busy machine.
            var toolchain = new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true);
            var job = (r.GetValue(quick) ? Job.ShortRun : Job.Default).WithToolchain(toolchain);
            var config = ManualConfig.Create(DefaultConfig.Instance).AddJob(job)
                .WithOptions(ConfigOptions.DisableOptimizationsValidator)
                .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "ManualVsAuto.BenchmarkArtifacts"));
            if (r.GetValue(model) == Checks)
            {
                var checks = BenchmarkRunner.Run([typeof(CheckingBenchmark), typeof(FunctionCheckBenchmark)], config);
                Console.Out.WriteLine();
                Console.Out.WriteLine($"One run on {Machine()}:");
                Console.Out.WriteLine(CheckLine(checks));
                return checks.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(x => !x.Success)) ? ExitCodes.Failed : ExitCodes.Ok;
            }
            var nets = Nets.Where(n => r.GetValue(model) is "all" || r.GetValue(model) == n.Name).ToList();
            var summaries = BenchmarkRunner.Run([typeof(SgemmBenchmark), .. nets.Select(n => n.Type)], config);
            var lines = RatioLines(summaries, nets);
            Console.Out.WriteLine();
            Console.Out.WriteLine($"One run on {Machine()}:");
            foreach (var line in lines) Console.Out.WriteLine(line);
            return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(x => !x.Success)) ? ExitCodes.Failed : ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>Per net and thread count: manual/floor, loop/step, manual/autograd for both baselines and manual/FLOP floor,
    /// then the times they come from.</summary>
    private static List<string> RatioLines(Summary[] summaries, IReadOnlyList<(string Name, Type Type)> nets)
    {
        var reports = summaries.SelectMany(s => s.Reports).Where(x => x.Success && x.ResultStatistics is not null).ToList();
        double? Mean(Type type, string method, int threads) => reports
            .FirstOrDefault(x => x.BenchmarkCase.Descriptor.Type == type && x.BenchmarkCase.Descriptor.WorkloadMethod.Name == method
                                 && Equals(x.BenchmarkCase.Parameters["Threads"], threads))
            ?.ResultStatistics!.Mean / 1000; // µs
        var lines = new List<string>();
        foreach (int threads in StepBenchmark.ThreadCounts)
        {
            double? sgemm = Mean(typeof(SgemmBenchmark), nameof(SgemmBenchmark.Sgemm), threads);
            double? gflops = sgemm is { } t ? SgemmBenchmark.Flops / t / 1e3 : null;
            foreach (var (name, type) in nets)
            {
                double? manual = Mean(type, nameof(StepBenchmark.Manual), threads), floor = Mean(type, nameof(StepBenchmark.MatmulFloor), threads);
                double? layers = Mean(type, nameof(StepBenchmark.Autograd), threads), composite = Mean(type, nameof(StepBenchmark.AutogradComposite), threads);
                double? loop = Mean(type, "Loop", threads), sampled = Mean(type, nameof(StepBenchmark.ManualSampled), threads);
                int every = TrainingDiagnostics.DefaultEvery(StepBenchmark.DefaultSteps(type));
                double? sampleShare = (sampled - manual) / every / manual;
                double flops = Flops(type);
                double? flopFloor = gflops is { } g ? flops / g / 1e3 : null;
                lines.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{name} ({threads} thread{(threads == 1 ? "" : "s")}): manual/floor {R(manual / floor)} · loop/step {R(loop / manual)} · " +
                    $"manual/autograd {R(manual / layers)} (layers) {R(manual / composite)} (composite ops) · manual/FLOP floor {R(manual / flopFloor)} — " +
                    $"manual {U(manual)}, matmul floor {U(floor)}, FLOP floor {U(flopFloor)} ({flops / 1e6:F1} MFLOP at {gflops:F1} GFLOP/s), " +
                    $"loop {U(loop)}/step, autograd {U(layers)} (layers) {U(composite)} (composite ops); " +
                    $"a step sampled by --diagnostics {U(sampled)}, {P(sampleShare)} per step at the default (every {every} steps)"));
            }
        }
        return lines;
    }

    private const string Checks = "checks";

    /// <summary>The float64 replay's cost (a check with one wrong row, replay on minus off) and a rule test's.</summary>
    private static string CheckLine(Summary[] summaries)
    {
        var reports = summaries.SelectMany(s => s.Reports).Where(x => x.Success && x.ResultStatistics is not null).ToList();
        double? Ms(string method) => reports.FirstOrDefault(x => x.BenchmarkCase.Descriptor.WorkloadMethod.Name == method)?.ResultStatistics!.Mean / 1e6;
        double? on = Ms(nameof(CheckingBenchmark.Replayed)), off = Ms(nameof(CheckingBenchmark.ReplayOff)), rule = Ms(nameof(FunctionCheckBenchmark.RuleTest));
        string F(double? ms) => ms is { } x ? x.ToString("F1", CultureInfo.InvariantCulture) + " ms" : "n/a";
        return $"checks: float64 replay {F(on - off)} (lecture check with one wrong row {F(on)}, replay off {F(off)}) · " +
               $"rule test of a GELU Function, 32×200: {F(rule)}";
    }

    private static double Flops(Type type)
    {
        var b = (StepBenchmark)Activator.CreateInstance(type)!;
        b.Threads = 1;
        b.Setup();
        try
        {
            return b.MatmulFlops;
        }
        finally
        {
            b.Cleanup();
        }
    }

    private static string R(double? ratio) => ratio is { } x ? x.ToString("F2", CultureInfo.InvariantCulture) : "n/a";

    private static string P(double? share) => share is { } x ? (100 * x).ToString("F2", CultureInfo.InvariantCulture) + " %" : "n/a";

    private static string U(double? us) => us is { } x ? x.ToString("F1", CultureInfo.InvariantCulture) + " µs" : "n/a";

    /// <summary>The OS, the CPU's model name and core count, and the load average as the run ends (Linux).</summary>
    private static string Machine()
    {
        string cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
            : RuntimeInformation.ProcessArchitecture.ToString();
        string load = File.Exists("/proc/loadavg") ? $", load average {string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))}" : "";
        return $"{RuntimeInformation.OSDescription}, {cpu}, {Environment.ProcessorCount} cores{load}";
    }
}
