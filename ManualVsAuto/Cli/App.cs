using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
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
        check.Options.Add(new VersionOption()); // the root has its own --version
        root.Subcommands.Add(check);
        foreach (var c in ExtraCommands()) root.Subcommands.Add(c);
        root.Subcommands.Add(HelpCommand(root));
        var helpOption = root.Options.OfType<HelpOption>().Single(); // recursive: every command's --help
        helpOption.Action = new HelpWithExitCodes((HelpAction)helpOption.Action!);

        return Guard(() =>
        {
            var parsed = root.Parse(args);
            // --help wins over a missing argument (`workbook new --help` shows the help), not over a mistyped word
            // (`trian --help` still says "did you mean train?").
            bool help = parsed.Action is HelpWithExitCodes && parsed.UnmatchedTokens.Count == 0;
            if (parsed.Errors.Count > 0 && !help)
            {
                Console.Error.WriteLine($"error: {ParseErrors.Describe(parsed)} See --help.");
                return ExitCodes.Usage;
            }
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }, Console.Error, debug: Environment.GetEnvironmentVariable("MVA_DEBUG") == "1");
    }

    /// <summary>
    /// <see cref="Run(string[])"/> in this process with stdout and stderr going to the given writers: a test that
    /// registers a net or a report format runs the commands on it. Console output is process-wide, so one at a time.
    /// </summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        lock (Captures)
        {
            var (output, error) = (Console.Out, Console.Error);
            Console.SetOut(stdout);
            Console.SetError(stderr);
            try
            {
                return Run(args);
            }
            finally
            {
                Console.SetOut(output);
                Console.SetError(error);
            }
        }
    }

    private static readonly Lock Captures = new();

    /// <summary>Runs <paramref name="body"/>, turning a failure into one line on <paramref name="err"/> and its exit code:
    /// bad input or too little memory 2, stdout or stderr that cannot be written 74, a signal 130 or 143, anything else (a bug) 70, with the stack trace only when <paramref name="debug"/>.</summary>
    public static int Guard(Func<int> body, TextWriter err, bool debug)
    {
        try
        {
            return body();
        }
        catch (OutputException e)
        {
            return Report(err, $"error: {e.Message}", ExitCodes.OutputError);
        }
        catch (Exception e) when (e is DataException or GradientCheckException or UserInputException or Training.CheckpointException or Plots.PlotPathException)
        {
            return Report(err, $"error: {e.Message}", ExitCodes.Usage);
        }
        catch (Training.RunStoppedException e)
        {
            return Report(err, e.Message, e.Signals.ExitCode);
        }
        catch (Exception e) when (OutOfMemory(e) is { } message)
        {
            return Report(err, $"error: {message}", ExitCodes.Usage);
        }
        catch (Exception e)
        {
            return Report(err, debug
                ? $"error: internal error: {e}"
                : $"error: internal error: {e.GetType().Name}: {FirstLine(e.Message)} (please report it; set MVA_DEBUG=1 for a stack trace)", ExitCodes.Internal);
        }
    }

    /// <summary>Writes the error line and returns <paramref name="code"/>; if stderr itself cannot be written (closed,
    /// full), returns 74 instead, and never throws: the handler of last resort must not fail.</summary>
    private static int Report(TextWriter err, string line, int code)
    {
        try
        {
            err.WriteLine(line);
            err.Flush();
            return code;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            return ExitCodes.OutputError;
        }
    }

    /// <summary>Subcommands beyond check (train, sample, benchmark, workbook) register here.</summary>
    private static IEnumerable<Command> ExtraCommands() =>
        [BenchmarkCommand.Create(), TrainCommand.Create(), SampleCommand.Create(), WorkbookCommand.Create()];

    /// <summary><c>help [command [subcommand]]</c>: the same as <c>[command [subcommand]] --help</c>.</summary>
    private static Command HelpCommand(RootCommand root)
    {
        var name = new Argument<string?>("command") { Description = "the command to explain", Arity = ArgumentArity.ZeroOrOne };
        name.AcceptOnlyFromAmong([.. root.Subcommands.Select(c => c.Name)]);
        var sub = new Argument<string?>("subcommand") { Description = "its subcommand, e.g. help workbook new", Arity = ArgumentArity.ZeroOrOne };
        var help = new Command("help", "Show the help of the program, of one command or of a subcommand.") { name, sub };
        help.SetAction(r =>
        {
            if (r.GetValue(name) is { } c && r.GetValue(sub) is { } s)
            {
                var subcommands = root.Subcommands.Single(x => x.Name == c).Subcommands.Select(x => x.Name).ToList();
                if (!subcommands.Contains(s))
                    throw new UserInputException(subcommands.Count == 0
                        ? $"'{c}' has no subcommands; see: help {c}."
                        : $"'{s}' is not a subcommand of '{c}'; it has: {string.Join(", ", subcommands)}.");
            }
            return root.Parse([.. new[] { r.GetValue(name), r.GetValue(sub) }.OfType<string>(), "--help"]).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        });
        return help;
    }

    /// <summary>The usual help, then the exit codes.</summary>
    private sealed class HelpWithExitCodes(HelpAction help) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int code = help.Invoke(parseResult);
            parseResult.InvocationConfiguration.Output.WriteLine(ExitCodes.Help);
            return code;
        }
    }

    /// <summary>A failed native or managed allocation as one line, or null when <paramref name="e"/> is something else.</summary>
    public static string? OutOfMemory(Exception e)
    {
        if (e is OutOfMemoryException or InsufficientMemoryException)
            return "out of memory; try a smaller --hidden or --batch-size.";
        // libtorch: "[enforce fail at alloc_cpu.cpp:…] data. DefaultCPUAllocator: not enough memory: you tried to allocate N bytes."
        if (e is ExternalException && (e.Message.Contains("DefaultCPUAllocator", StringComparison.Ordinal) || e.Message.Contains("alloc_cpu", StringComparison.Ordinal)))
        {
            var m = Regex.Match(e.Message, @"allocate (\d+) bytes");
            string size = m.Success ? $" of {MemoryBudget.Size(double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))}" : "";
            return $"out of memory: libtorch could not allocate a tensor{size}; try a smaller --hidden or --batch-size.";
        }
        return null;
    }

    private static string FirstLine(string s) => s.Split('\n', 2)[0].Trim();
}
