using System.Text;
using ManualVsAuto.Cli;
using ManualVsAuto.Data;
using ManualVsAuto.Training;

namespace ManualVsAuto.Tests;

/// <summary>
/// The hostile-input suite's in-process half (issue 19): names files, error handling and settings as a hostile user
/// would make them, each refused in one line naming the problem, never an internal error. The checkpoint cases are in
/// <see cref="CheckpointIntegrityTests"/>; the cases that need the program's own process (exit codes through a shell,
/// redirections, signals, two runs at once) are in <see cref="HostileProcessTests"/>.
/// </summary>
public class HostileInputTests
{
    [Theory]
    [InlineData("\0\0\0\0", "x:1:1: character U+0000 is not allowed")]
    [InlineData("emma\nol\0ivia\n", "x:2:3: character U+0000 is not allowed")]
    [InlineData("emma\nol\xffivia\n", "x:2:3: byte 0xFF is not valid UTF-8")]
    [InlineData("\xc3\n", "x:1:1: byte 0xC3 is not valid UTF-8")]
    [InlineData("ava\n\n\xe2\x82\n", "x:3:1: byte 0xE2 is not valid UTF-8")]
    [InlineData("Emma\n", "x:1:1: character 'E' (U+0045) is not allowed")]
    [InlineData("emma.\n", "x:1:5: character '.' (U+002E) is not allowed ('.' is the end-of-name token)")]
    [InlineData(" emma\n", "x:1:1: character U+0020 is not allowed")]
    [InlineData("emma \n", "x:1:5: character U+0020 is not allowed")]
    [InlineData("em ma\n", "x:1:3: character U+0020 is not allowed")]
    [InlineData("r2d2\n", "x:1:2: character '2' (U+0032) is not allowed")]
    [InlineData("emma\rolivia\n", "x:1:5: character U+000D is not allowed")]
    [InlineData("zoë\n", "x:1:3: character 'ë' (U+00EB) is not allowed")]
    [InlineData("", "x: no names found (the file is empty or blank).")]
    [InlineData("\n\n  \t\n", "x: no names found (the file is empty or blank).")]
    [InlineData("\uFEFF", "x: no names found (the file is empty or blank).")]
    public void ABadNamesFileIsOneLineNamingLineAndColumn(string content, string expected)
    {
        // Cases with a byte that is not UTF-8 (0xFF, a cut sequence) give it as a Latin-1 character; the others are UTF-8 text.
        var bytes = content.Any(x => x is '\xff' or '\xc3' or '\xe2' or '\x82') ? content.Select(c => (byte)c).ToArray() : Encoding.UTF8.GetBytes(content);
        var e = Assert.Throws<DataException>(() => NamesFile.Parse(bytes, "x"));
        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith(expected, e.Message);
    }

    /// <summary>The neighbouring good files are read: CRLF, a BOM, blank lines between names, a last line without a line end.</summary>
    [Theory]
    [InlineData("emma\r\nolivia\r\n")]
    [InlineData("\uFEFFemma\nolivia")]
    [InlineData("emma\n\n   \nolivia\n")]
    public void ANeighbouringGoodFileIsRead(string content) =>
        Assert.Equal(["emma", "olivia"], NamesFile.Parse(Encoding.UTF8.GetBytes(content), "x").Select(n => n).ToArray());

    /// <summary>The error handler never throws: a stderr that fails makes the exit code 74, whatever the error was.</summary>
    [Theory]
    [InlineData("usage")]
    [InlineData("internal")]
    [InlineData("output")]
    [InlineData("checkpoint")]
    public void AFailingStderrIsExitCode74AndTheHandlerDoesNotThrow(string what)
    {
        Exception e = what switch
        {
            "usage" => new UserInputException("bad"),
            "internal" => new InvalidOperationException("boom"),
            "checkpoint" => new CheckpointException("x.ckpt is corrupt"),
            _ => new OutputException("cannot write to standard output: No space left on device."),
        };
        Assert.Equal(ExitCodes.OutputError, App.Guard(() => throw e, new FailingWriter(), debug: false));
    }

    [Fact]
    public void AFailingStdoutIsExitCode74InOneLine()
    {
        var err = new StringWriter();
        Assert.Equal(74, App.Guard(() => throw new OutputException("cannot write to standard output: it is closed."), err, debug: false));
        Assert.Equal("error: cannot write to standard output: it is closed.", err.ToString().TrimEnd());
    }

    /// <summary>A signal during a phase after training ends as the loop's does: its exit code, one line.</summary>
    [Fact]
    public void AStopBetweenChunksIsItsSignalsExitCode()
    {
        using var signals = StopSignals.Listen();
        signals.Request(15);
        var err = new StringWriter();
        Assert.Equal(143, App.Guard(() =>
        {
            StopSignals.ThrowIfStopping();
            return 0;
        }, err, debug: false));
        Assert.Equal("Stopped by SIGTERM.", err.ToString().TrimEnd());
    }

    /// <summary>Settings out of their ranges, as a crafted checkpoint could carry them; the neighbouring legal values pass.</summary>
    [Theory]
    [InlineData(0, 200, 32, 0.1, 0, "steps 0 is not from 1 to 100000000")]
    [InlineData(100_000_001, 200, 32, 0.1, 0, "steps 100000001 is not from 1 to 100000000")]
    [InlineData(10, 0, 32, 0.1, 0, "hidden 0 is below 1")]
    [InlineData(10, 200, 1, 0.1, 0, "batch size 1 is below 2")]
    [InlineData(10, 200, 32, double.NaN, 0, "lr NaN is not a positive number")]
    [InlineData(10, 200, 32, double.PositiveInfinity, 0, "lr Infinity is not a positive number")]
    [InlineData(10, 200, 32, -0.1, 0, "lr -0.1 is not a positive number")]
    [InlineData(10, 200, 32, 0.1, -1, "decay step -1 is negative")]
    [InlineData(100_000_000, 1, 2, 1e-300, 0, null)]
    public void SettingsOutOfRangeAreNamed(int steps, int hidden, int batch, double lr, int decay, string? problem) =>
        Assert.Equal(problem, new TrainingSettings(steps, hidden, batch, lr, decay).Problem());

    private sealed class FailingWriter : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;
        public override void Write(char value) => throw new OutputException("cannot write to standard error: No space left on device.");
        public override void WriteLine(string? value) => throw new OutputException("cannot write to standard error: No space left on device.");
    }
}
