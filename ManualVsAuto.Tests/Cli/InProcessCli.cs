using ManualVsAuto.Cli;

namespace ManualVsAuto.Tests;

/// <summary>
/// Commands run inside the test process (<see cref="App.Run(string[], TextWriter, TextWriter)"/>), so they see what a
/// test registered (a net, a report format). Console output and the registries are process-wide: these tests run in
/// this collection, alone, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class InProcessCli
{
    public const string Name = "in-process CLI";

    public static CliRunner.Result Run(params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        int code = App.Run(args, stdout, stderr);
        return new CliRunner.Result(code, stdout.ToString(), stderr.ToString());
    }
}
