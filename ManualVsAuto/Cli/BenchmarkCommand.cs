using System.CommandLine;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ManualVsAuto.Benchmarks;

namespace ManualVsAuto.Cli;

/// <summary><c>benchmark</c>: BenchmarkDotNet on one training step, manual vs autograd.</summary>
public static class BenchmarkCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "a short run (fewer iterations) for a first look (default: false)" };
        var model = Opt.Model("mlp: Exercise 4's MLP step (n_hidden 200); wavenet: part 5's WaveNet step (n_hidden 128)");
        var cmd = new Command("benchmark",
            "Measure one training step (n_hidden 200, batch 32), manual backward vs autograd, with BenchmarkDotNet. " +
            "Run it from a Release build: dotnet run -c Release --project ManualVsAuto -- benchmark") { quick, model };
        cmd.SetAction(r =>
        {
#if DEBUG
            Console.Error.WriteLine("warning: this is a Debug build; measure with: dotnet run -c Release --project ManualVsAuto -- benchmark");
#endif
            // In-process: a separately generated benchmark project would not get the TorchSharp native-load fix.
            // Its default 5-minute limit per benchmark is too short for the WaveNet's step on a busy machine.
            var toolchain = new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true);
            var job = (r.GetValue(quick) ? Job.ShortRun : Job.Default).WithToolchain(toolchain);
            var config = ManualConfig.Create(DefaultConfig.Instance).AddJob(job)
                .WithOptions(ConfigOptions.DisableOptimizationsValidator)
                .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "ManualVsAuto.BenchmarkArtifacts"));
            var summary = BenchmarkRunner.Run(r.GetValue(model) == "wavenet" ? typeof(WaveNetStepBenchmark) : typeof(TrainingStepBenchmark), config);
            return summary.HasCriticalValidationErrors || summary.Reports.Any(x => !x.Success) ? ExitCodes.Failed : ExitCodes.Ok;
        });
        return cmd;
    }
}
