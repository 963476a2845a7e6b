using System.Diagnostics;
using ManualVsAuto.Cli;

namespace ManualVsAuto.Tests;

/// <summary>The command line's rough edges: parse errors in words, typo suggestions, help, --version, --threads, streaming.</summary>
public sealed class CliUsageTests : CliTestFolder
{
    private string SmallNames() => Names(10);

    [Theory]
    [InlineData("check", "--seed", "-1", "--seed must be a whole number from 0 to 18446744073709551615, got '-1'.")]
    [InlineData("check", "--seed", "1.5", "--seed must be a whole number from 0 to 18446744073709551615, got '1.5'.")]
    [InlineData("check", "--hidden", "abc", "--hidden must be a whole number from 1 to 2147483647, got 'abc'.")]
    [InlineData("check", "--batch-size", "99999999999", "--batch-size must be a whole number from 2 to 2147483647, got '99999999999'.")]
    [InlineData("train", "--steps", "many", "--steps must be a whole number from 1 to 100000000, got 'many'.")]
    public void ParseErrorsSayWhatIsAllowedWithoutTypeNames(string command, string option, string value, string expected)
    {
        var r = Run(command, option, value);
        AssertOneLineError(r, 2, expected);
        Assert.DoesNotContain("System.", r.Stderr);
        Assert.DoesNotContain("expected type", r.Stderr);
    }

    /// <summary>A value outside an option's choices names the option and lists the choices; an unknown command after
    /// help still reads as a sentence.</summary>
    [Theory]
    [InlineData("check --dtype float16", "--dtype must be one of float32, float64, got 'float16'.")]
    [InlineData("train --backward magic", "--backward must be one of manual, autograd, got 'magic'.")]
    [InlineData("help nope", "Must be one of: 'check' 'benchmark' 'train' 'sample' 'workbook'. See --help.")]
    public void AValueOutsideTheChoicesNamesTheOption(string args, string expected) =>
        AssertOneLineError(Run(args.Split(' ')), 2, expected);

    /// <summary>The formats listed are the registered renderers (<see cref="CheckCommand.Renderers"/>).</summary>
    [Fact]
    public void AFormatOutsideTheRegisteredOnesListsThem() => AssertOneLineError(Run("check", "--format", "xml"), 2,
        $"--format must be one of {string.Join(", ", CheckCommand.Renderers.Select(r => r.Name))}, got 'xml'.");

    [Theory]
    [InlineData("Infinity")]
    [InlineData("inf")]
    [InlineData("-inf")]
    [InlineData("∞")]
    [InlineData("NaN")]
    [InlineData("nan")]
    public void EverySpellingOfInfinityOrNaNGetsTheSameMessage(string value)
    {
        var r = Run("train", "--lr", value, "--checkpoint", Path.Combine(dir, "x.ckpt"));
        AssertOneLineError(r, 2, $"--lr must be a positive number such as 0.1 or 1e-3 (not infinite or NaN), got '{value}'.");
    }

    [Theory]
    [InlineData(new[] { "check", "--sed", "3" }, "unknown option '--sed' for 'check'; did you mean --seed?")]
    [InlineData(new[] { "train", "--stpes", "3" }, "unknown option '--stpes' for 'train'; did you mean --steps?")]
    [InlineData(new[] { "trian" }, "unknown command or argument 'trian' for the program; did you mean train?")]
    [InlineData(new[] { "sampel" }, "did you mean sample?")]
    public void AMistypedOptionOrCommandGetsASuggestion(string[] args, string expected) =>
        AssertOneLineError(Run(args), 2, expected);

    [Fact]
    public void SomethingFarFromEveryNameGetsNoSuggestion()
    {
        var r = Run("check", "--frobnicate", "1");
        AssertOneLineError(r, 2, "unknown option '--frobnicate' for 'check'.");
        Assert.DoesNotContain("did you mean", r.Stderr);
    }

    [Fact]
    public void SuggestionsPickTheNearestName()
    {
        Assert.Equal("--seed", ParseErrors.Suggest("--sede", ["--seed", "--steps", "--help"]));
        Assert.Equal("--hidden", ParseErrors.Suggest("--hid", ["--hidden", "--help"]));
        Assert.Null(ParseErrors.Suggest("--zzz", ["--seed", "--steps"]));
        Assert.Equal(1, ParseErrors.Distance("trian", "train"));
    }

    [Fact]
    public void HelpWorksAsACommand()
    {
        var all = Run("help");
        Assert.Equal(0, all.ExitCode);
        Assert.Equal(Run("--help").Stdout, all.Stdout);
        var train = Run("help", "train");
        Assert.Equal(0, train.ExitCode);
        Assert.Equal(Run("train", "--help").Stdout, train.Stdout);
        Assert.Contains("--resume", train.Stdout);
        AssertOneLineError(Run("help", "trian"), 2, "trian");
        var workbookNew = Run("help", "workbook", "new");
        Assert.Equal(0, workbookNew.ExitCode);
        Assert.Equal(Run("workbook", "new", "--help").Stdout, workbookNew.Stdout);
        Assert.Contains("--package", workbookNew.Stdout);
        AssertOneLineError(Run("help", "workbook", "nwe"), 2, "'nwe' is not a subcommand of 'workbook'; it has: new.");
        AssertOneLineError(Run("help", "train", "new"), 2, "'train' has no subcommands; see: help train.");
    }

    /// <summary>--help on a command with a required argument shows its help instead of the missing-argument error.</summary>
    [Fact]
    public void HelpWinsOverAMissingArgument()
    {
        var help = Run("workbook", "new", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("<DIR>", help.Stdout);
        Assert.Contains("--package", help.Stdout);
        Assert.Equal("", help.Stderr);
        AssertOneLineError(Run("workbook", "new"), 2, "Required argument missing");
        AssertOneLineError(Run("trian", "--help"), 2, "did you mean train?");
        AssertOneLineError(Run("train", "--sede", "3", "--help"), 2, "did you mean --seed?");
    }

    [Fact]
    public void VersionWorksOnTheDefaultCommandToo()
    {
        var root = Run("--version");
        var check = Run("check", "--version");
        Assert.Equal(0, check.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", check.Stdout);
        Assert.Equal(root.Stdout, check.Stdout);
    }

    /// <summary>--version is the version of the library it runs on (the package's), not the SDK's default 1.0.0.</summary>
    [Fact]
    public void VersionIsTheLibrarysPackageVersion()
    {
        string library = typeof(ManualVsAuto.Checking.GradientCheck).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion.Split('+')[0];
        Assert.NotEqual("1.0.0", library);
        Assert.Equal(library, Run("--version").Stdout.Trim().Split('+')[0]);
    }

    [Fact]
    public void ThreadsAboveTheProcessorCountAreCappedWithAWarning()
    {
        int n = Environment.ProcessorCount;
        var r = Run("check", "--threads", "1000", "--numeric", "off", "--format", "json", "--data", SmallNames());
        Assert.Equal(0, r.ExitCode);
        Assert.Contains($"warning: --threads 1000 is more than the {n} processors here; using {n}.", r.Stderr);
        Assert.Contains($"\"threads\": {n}", r.Stdout);

        var ok = Run("check", "--threads", "1", "--numeric", "off", "--format", "json", "--data", SmallNames());
        Assert.DoesNotContain("warning", ok.Stderr);
    }

    [Fact]
    public async Task SampleStreamsNamesAsTheyAreMade()
    {
        string ckpt = Path.Combine(dir, "run.ckpt");
        Assert.Equal(0, Run("train", "--data", SmallNames(), "--steps", "5", "--hidden", "4", "--checkpoint", ckpt).ExitCode);

        // A million names take minutes; the first one must arrive while the rest are still being made.
        using var p = Process.Start(CliRunner.StartInfo(dir, "sample", "--checkpoint", ckpt, "--count", "1000000"))!;
        try
        {
            string? first = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
            Assert.Matches("^[a-z]*\\.$", first);
            Assert.False(p.HasExited, "the program had already finished all names before the first was read");
        }
        finally
        {
            p.Kill();
            await p.WaitForExitAsync();
        }
    }

    /// <summary><c>sample --count 1000000 | head -2</c>: once the reader has gone, sampling stops and the program
    /// exits with 0, instead of drawing the rest of the million names for nobody (.NET's console ignores a closed pipe).</summary>
    [Fact]
    public async Task SampleStopsWhenItsReaderHasGone()
    {
        string ckpt = Path.Combine(dir, "run.ckpt");
        Assert.Equal(0, Run("train", "--data", SmallNames(), "--steps", "5", "--hidden", "4", "--checkpoint", ckpt).ExitCode);

        using var p = Process.Start(CliRunner.StartInfo(dir, "sample", "--checkpoint", ckpt, "--count", "1000000"))!;
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            Assert.Matches("^[a-z]*\\.$", await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2)));
            Assert.Matches("^[a-z]*\\.$", await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2)));
            p.StandardOutput.Close(); // as head does after its lines
            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1)); // a million names take minutes
            Assert.Equal(0, p.ExitCode);
            Assert.Equal("", await stderr);
        }
        finally
        {
            if (!p.HasExited) p.Kill();
        }
    }

    [Fact]
    public void NoColorTurnsColoursOffOnATerminal()
    {
        if (!File.Exists("/usr/bin/script")) Assert.Fail("needs script(1) from util-linux to give the program a terminal");
        string Terminal(bool noColor)
        {
            // script(1) runs the program on a pseudo-terminal, where colours are on unless NO_COLOR is set.
            var psi = new ProcessStartInfo("/usr/bin/script") { RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = dir };
            string cmd = $"stty cols 120; dotnet '{Path.Combine(AppContext.BaseDirectory, "ManualVsAuto.dll")}' check --numeric off --data '{SmallNames()}'";
            foreach (var a in new[] { "-qec", cmd, "/dev/null" }) psi.ArgumentList.Add(a);
            psi.Environment.Remove("NO_COLOR");
            if (noColor) psi.Environment["NO_COLOR"] = "1";
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return output;
        }
        static bool HasColour(string s) => System.Text.RegularExpressions.Regex.IsMatch(s, @"\e\[(38;5;\d+|3\dm|9\dm)");
        Assert.True(HasColour(Terminal(noColor: false)), "a terminal without NO_COLOR gets colours");
        Assert.False(HasColour(Terminal(noColor: true)), "NO_COLOR=1 turns them off");
    }
}
