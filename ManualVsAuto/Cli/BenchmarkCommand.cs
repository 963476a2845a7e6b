using System.CommandLine;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ManualVsAuto.Benchmarks;
using ManualVsAuto.Model;

namespace ManualVsAuto.Cli;

/// <summary><c>benchmark</c>: BenchmarkDotNet on one training step, manual vs autograd.</summary>
public static class BenchmarkCommand
{
    /// <summary>The BenchmarkDotNet class of each net's training step (see Model/ModelKind.cs); a net without one is not offered.</summary>
    public static readonly ModelTable<Type?> Benchmarks = new ModelTable<Type?>(_ => null)
        .With(ModelKinds.Mlp, typeof(TrainingStepBenchmark))
        .With(ModelKinds.WaveNet, typeof(WaveNetStepBenchmark));

    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "a short run (fewer iterations) for a first look (default: false)" };
        var model = Opt.Model(k => $"{k.Description}, one step at n_hidden {k.LectureNHidden}", ModelKinds.All.Where(Benchmarks.IsRegistered));
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
            var summary = BenchmarkRunner.Run(Benchmarks[Opt.ModelOf(r, model)]!, config);
            return summary.HasCriticalValidationErrors || summary.Reports.Any(x => !x.Success) ? ExitCodes.Failed : ExitCodes.Ok;
        });
        return cmd;
    }
}
