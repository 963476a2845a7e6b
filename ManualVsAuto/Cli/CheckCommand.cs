using System.CommandLine;
using ManualVsAuto.Checking;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Reporting;
using Spectre.Console;

namespace ManualVsAuto.Cli;

/// <summary><c>check</c>: Exercise 1's 26 rows plus the fused rows of Exercises 2 and 3, as a table.</summary>
public static class CheckCommand
{
    public static Command Create()
    {
        var seed = Opt.Seed(MlpConfig.LectureSeed, "seed of the torch generator for the parameters and the minibatch; the split keeps the lecture's 42");
        var batch = Opt.Int("--batch-size", 32, "minibatch size", 2, "the variance divides by n-1");
        var hidden = Opt.Int("--hidden", 64, "hidden units", 1);
        var data = Opt.Path("--data", "path to names.txt (default: data/names.txt in the repository, downloaded if missing)");
        var threads = Opt.Threads();

        var cmd = new Command("check", "Compare every manual gradient with autograd's and print the report (the default command).")
        {
            seed, batch, hidden, data, threads,
        };
        cmd.SetAction(r =>
        {
            var settings = new CheckSettings(r.GetValue(seed), r.GetValue(batch), r.GetValue(hidden), r.GetValue(threads));
            var path = DataLocator.Resolve(r.GetValue(data), Console.Error);
            var split = Dataset.Split(NamesFile.Load(path));
            var report = LectureCheck.Run(split.Train, settings);
            TableRenderer.Render(report, AnsiConsole.Console);
            return report.AllApproximate ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return cmd;
    }
}
