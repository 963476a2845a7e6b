using System.Text.RegularExpressions;

namespace ManualVsAuto.Tests;

/// <summary>
/// One real workbook, made with <c>workbook new</c> in a temporary folder and taken through a learner's stages, each
/// built and run once and shared by <see cref="WorkbookTests"/>: fresh; one gradient filled in a workbook as made
/// before Exercise 5 (without Exercise5.cs and Exercise5Tests.cs); every answer filled with the lecture's; the same
/// with one deliberate mistake in Exercise 1 and one in Exercise 5; in-place damage. Builds are slow (≈ 10–25 s
/// each), hence one fixture.
/// </summary>
public sealed class WorkbookFixture : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    /// <summary>The gradient filled in alone, and its test.</summary>
    public const string OneMethod = "dprobs", OneTest = "Ninja.Exercise1Tests.Line02_dprobs";

    public FixtureStages Stages { get; }

    public string Folder { get; } = Path.Combine(Path.GetTempPath(), "mva-workbook-" + Guid.NewGuid().ToString("N"));

    public WorkbookFixture()
    {
        string wb = Path.Combine(Folder, "ninja");
        Directory.CreateDirectory(Folder);
        var stages = new FixtureStages { New = CliRunner.RunIn(Folder, "workbook", "new", wb) };
        Stages = stages;
        if (stages.New.ExitCode != 0) return;

        string exercise1 = Path.Combine(wb, "Exercise1.cs");
        string fresh = File.ReadAllText(exercise1);
        stages.FreshBuild = Build(wb);
        if (stages.FreshBuild.ExitCode != 0) return;
        stages.FreshRun = Dotnet(wb, "run", "--no-build");
        stages.FreshTest = Dotnet(wb, "test", "--no-build");

        // A workbook made before Exercise 5: the same files without Exercise 5's two (Program.cs and Tests.cs are unchanged).
        var exercise5 = Exercise5Files.ToDictionary(f => f, f => File.ReadAllText(Path.Combine(wb, f)));
        foreach (var f in Exercise5Files) File.Delete(Path.Combine(wb, f));
        WorkbookAnswers.Fill(exercise1, OneMethod, WorkbookAnswers.Exercise1[OneMethod]);
        stages.OneBuild = Build(wb);
        if (stages.OneBuild.ExitCode != 0) return;
        stages.OneRun = Dotnet(wb, "run", "--no-build");
        stages.OneTest = Dotnet(wb, "test", "--no-build");

        File.WriteAllText(exercise1, fresh);
        foreach (var (f, text) in exercise5) File.WriteAllText(Path.Combine(wb, f), text);
        WorkbookAnswers.FillAll(wb);
        stages.FullBuild = Build(wb);
        if (stages.FullBuild.ExitCode != 0) return;
        stages.FullRun = Dotnet(wb, "run", "--no-build");

        WorkbookAnswers.Fill(exercise1, "dbndiff2", WorkbookAnswers.BesselMistake, replacing: WorkbookAnswers.BesselAnswer);
        string exercise5File = Path.Combine(wb, "Exercise5.cs");
        File.WriteAllText(exercise5File, File.ReadAllText(exercise5File).Replace(WorkbookAnswers.Zeroing, WorkbookAnswers.NoZeroing));
        stages.MistakeBuild = Build(wb);
        if (stages.MistakeBuild.ExitCode != 0) return;
        stages.MistakeRun = Dotnet(wb, "run", "--no-build");
        stages.MistakeTest = Dotnet(wb, "test", "--no-build");

        // In-place damage with a right value, on its own line: named at the learner's line.
        WorkbookAnswers.Fill(exercise1, "dbndiff2", WorkbookAnswers.BesselAnswer, replacing: WorkbookAnswers.BesselMistake);
        File.WriteAllText(exercise5File, File.ReadAllText(exercise5File).Replace(WorkbookAnswers.NoZeroing, WorkbookAnswers.Zeroing));
        WorkbookAnswers.Fill(exercise1, "dbngain", WorkbookAnswers.InPlaceMistake, replacing: WorkbookAnswers.Exercise1["dbngain"]);
        stages.InPlaceBuild = Build(wb);
        if (stages.InPlaceBuild.ExitCode != 0) return;
        stages.InPlaceRun = Dotnet(wb, "run", "--no-build");
        stages.InPlaceTest = Dotnet(wb, "test", "--no-build");
    }

    /// <summary>What a workbook made before Exercise 5 lacks.</summary>
    public static readonly string[] Exercise5Files = ["Exercise5.cs", "Exercise5Tests.cs"];

    private static CliRunner.Result Build(string wb) => Dotnet(wb, "build", "--disable-build-servers", "-nologo", "-v", "q");

    private static CliRunner.Result Dotnet(string wb, params string[] args) => CliRunner.Dotnet(wb, Timeout, args);

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { } // a leftover temp folder is harmless
    }
}

/// <summary>What each stage printed; null when an earlier stage failed (the failing stage's output says why).</summary>
public sealed class FixtureStages
{
    public required CliRunner.Result New { get; init; }
    public CliRunner.Result? FreshBuild { get; set; }
    public CliRunner.Result? FreshRun { get; set; }
    public CliRunner.Result? FreshTest { get; set; }
    public CliRunner.Result? OneBuild { get; set; }
    public CliRunner.Result? OneRun { get; set; }
    public CliRunner.Result? OneTest { get; set; }
    public CliRunner.Result? FullBuild { get; set; }
    public CliRunner.Result? FullRun { get; set; }
    public CliRunner.Result? MistakeBuild { get; set; }
    public CliRunner.Result? MistakeRun { get; set; }
    public CliRunner.Result? MistakeTest { get; set; }
    public CliRunner.Result? InPlaceBuild { get; set; }
    public CliRunner.Result? InPlaceRun { get; set; }
    public CliRunner.Result? InPlaceTest { get; set; }

    /// <summary>Every stage's output so far, for a failure message.</summary>
    public override string ToString() => string.Join("\n", new (string, CliRunner.Result?)[]
    {
        ("new", New), ("fresh build", FreshBuild), ("one build", OneBuild), ("full build", FullBuild), ("mistake build", MistakeBuild), ("in-place build", InPlaceBuild),
    }.Where(s => s.Item2 is not null).Select(s => $"--- {s.Item1} (exit {s.Item2!.ExitCode}):\n{s.Item2.Output}"));
}

/// <summary>The workbook report's Exercise-1 rows, read back from its text.</summary>
public sealed record ReportLine(int Number, string Name, string Shape, string Verdict, string Chained, string Cause)
{
    private static readonly Regex Row = new(
        @"^ *(\d+) +(\S+) +(\([^)]*\)) +(exact|approximate|WRONG|ERROR|not attempted) +(\S+) +(\S+) +(needs your \S+ first|inherits ← \S+|exact|approximate|WRONG|ERROR|-) *(.*)$",
        RegexOptions.Multiline);

    public static IReadOnlyList<ReportLine> Parse(string report) =>
        Row.Matches(report).Select(m => new ReportLine(int.Parse(m.Groups[1].Value), m.Groups[2].Value, m.Groups[3].Value,
            m.Groups[4].Value, m.Groups[7].Value, m.Groups[8].Value.Trim())).ToList();
}

/// <summary>The counts of a <c>dotnet test</c> run, from its summary line, and the names of its failed tests.</summary>
public sealed record TestCounts(int Failed, int Passed, int Skipped)
{
    /// <summary>From the summary <c>dotnet test</c> prints (a count that is absent is 0).</summary>
    public static TestCounts Parse(string output)
    {
        // One line when the run ends in failures or skips only; a block when it succeeds.
        var line = Regex.Match(output, @"Failed:\s+(\d+), Passed:\s+(\d+), Skipped:\s+(\d+)");
        if (line.Success) return new TestCounts(int.Parse(line.Groups[1].Value), int.Parse(line.Groups[2].Value), int.Parse(line.Groups[3].Value));
        if (!output.Contains("Total tests:", StringComparison.Ordinal)) throw new InvalidOperationException("no test summary in:\n" + output);
        int Count(string what) => Regex.Match(output, $@"^ +{what}: +(\d+)\r?$", RegexOptions.Multiline) is { Success: true } m ? int.Parse(m.Groups[1].Value) : 0;
        return new TestCounts(Count("Failed"), Count("Passed"), Count("Skipped"));
    }

    public static IReadOnlyList<string> Names(string output, string outcome) =>
        Regex.Matches(output, $@"^ +{outcome} (Ninja\.\S+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Distinct().Order().ToList();
}
