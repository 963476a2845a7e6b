using System.CommandLine;
using ManualVsAuto.Checking;
using ManualVsAuto.Data;

namespace ManualVsAuto.Cli;

/// <summary>The command line: parses, dispatches, and turns known failures into one-line errors and exit codes.</summary>
public static class App
{
    public static int Run(string[] args)
    {
        var root = new RootCommand("ManualVsAuto: checks hand-derived gradients against autograd (makemore part 4, \"becoming a backprop ninja\").");
        var check = CheckCommand.Create();
        // `check` is the default: the root takes the same options and does the same thing.
        foreach (var o in check.Options) root.Options.Add(o);
        root.Action = check.Action;
        root.Subcommands.Add(check);
        foreach (var c in ExtraCommands()) root.Subcommands.Add(c);

        try
        {
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                // Some parser messages span lines (lists of choices): keep the error to one line.
                var message = string.Join(" ", parsed.Errors[0].Message.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));
                Console.Error.WriteLine($"error: {message} See --help.");
                return ExitCodes.Usage;
            }
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (e is DataException or GradientCheckException or UserInputException or Training.CheckpointException or Plots.PlotPathException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("MVA_DEBUG") != "1")
        {
            Console.Error.WriteLine($"error: unexpected {e.GetType().Name}: {e.Message} (set MVA_DEBUG=1 for a stack trace)");
            return ExitCodes.Failed;
        }
    }

    /// <summary>Subcommands beyond check (train, sample, benchmark, workbook) register here.</summary>
    private static IEnumerable<Command> ExtraCommands() =>
        [BenchmarkCommand.Create(), TrainCommand.Create(), SampleCommand.Create(), WorkbookCommand.Create()];
}
