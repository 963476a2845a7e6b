using ManualVsAuto.Checking;
using ManualVsAuto.Scaffold;
using ManualVsAuto.Workbook;

namespace ManualVsAuto.Tests;

/// <summary>A real workbook, made by <c>workbook new</c>, built and graded at each stage of a learner's work.</summary>
public class WorkbookTests(WorkbookFixture fixture) : IClassFixture<WorkbookFixture>
{
    private readonly FixtureStages s = fixture.Stages;

    private CliRunner.Result Stage(CliRunner.Result? r) => r ?? throw new Xunit.Sdk.XunitException("an earlier stage failed:\n" + s);

    [DataFact]
    public void FreshWorkbookBuildsAgainstTheLibraryOnly()
    {
        Assert.True(s.New.ExitCode == 0, s.ToString());
        var build = Stage(s.FreshBuild);
        Assert.True(build.ExitCode == 0, s.ToString());
        string wb = Path.Combine(fixture.Folder, "ninja");
        Assert.Contains("ManualVsAuto.Library.csproj", File.ReadAllText(Path.Combine(wb, "Ninja.csproj")));
        // The library only: none of the command line's packages reach the workbook.
        var assets = File.ReadAllText(Path.Combine(wb, "obj", "project.assets.json")).ToLowerInvariant();
        Assert.Contains("manualvsauto.library", assets);
        foreach (var cli in new[] { "spectre.console/", "scottplot/", "benchmarkdotnet/", "system.commandline/" }) Assert.DoesNotContain(cli, assets);
        // Nothing of the clone's settings: its Directory.Build.* are empty.
        Assert.DoesNotContain("PropertyGroup", File.ReadAllText(Path.Combine(wb, "Directory.Build.props")));
        Assert.DoesNotContain("Import", File.ReadAllText(Path.Combine(wb, "Directory.Build.targets")));
    }

    [DataFact]
    public void FreshWorkbookGradesEverythingNotAttempted()
    {
        var run = Stage(s.FreshRun);
        Assert.True(run.ExitCode == 0, run.Output);
        var lines = ReportLine.Parse(run.Stdout);
        Assert.Equal(WorkbookGrader.Names, lines.Select(l => l.Name));
        Assert.All(lines, l => Assert.Equal("not attempted", l.Verdict));
        Assert.Contains("0/26 exact · 26 not attempted\n", run.Stdout);
        Assert.Contains("logits (fused CE)  not attempted", run.Stdout);
        Assert.Contains("hprebn (fused BN)  not attempted", run.Stdout);
        Assert.Contains("on your backward beside autograd: not attempted", run.Stdout);
        Assert.Contains("Exercise 5, your training loop for 5 steps beside the lecture's: not attempted", run.Stdout);

        // dotnet test: every answer is a skipped test, none passes.
        var test = Stage(s.FreshTest);
        Assert.Equal(new TestCounts(Failed: 0, Passed: 0, Skipped: 31), TestCounts.Parse(test.Output));
        Assert.Contains("not attempted yet", test.Output);
    }

    /// <summary>In a workbook made before Exercise 5 (no Exercise5.cs, no Exercise5Tests.cs): it builds, one filled
    /// gradient turns exactly its test green, and the report says in one line how to add Exercise 5.</summary>
    [DataFact]
    public void FillingOneGradientTurnsExactlyThatTestGreenInAWorkbookWithoutExercise5()
    {
        var test = Stage(s.OneTest);
        Assert.Equal(new TestCounts(Failed: 0, Passed: 1, Skipped: 29), TestCounts.Parse(test.Output));
        Assert.Equal([WorkbookFixture.OneTest], TestCounts.Names(test.Output, "Passed"));
        var run = Stage(s.OneRun);
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("1/26 exact · 25 not attempted\n", run.Stdout);
        Assert.Single(run.Stdout.Split('\n'), l => l.StartsWith("Exercise 5", StringComparison.Ordinal));
        Assert.EndsWith(WorkbookReport.Exercise5Missing + "\n", run.Stdout);
    }

    [DataFact]
    public void LectureAnswersGrade26Of26ExactChainedAndTheFusedRowsApproximate()
    {
        var run = Stage(s.FullRun);
        Assert.True(run.ExitCode == 0, run.Output);
        var lines = ReportLine.Parse(run.Stdout);
        Assert.Equal(26, lines.Count);
        Assert.All(lines, l => Assert.Equal(("exact", "exact"), (l.Verdict, l.Chained)));
        Assert.Contains("26/26 exact\n", run.Stdout);
        Assert.Contains("chained: 26/26 exact", run.Stdout);
        Assert.Contains("logits (fused CE)  approximate (passes", run.Stdout);
        Assert.Contains("hprebn (fused BN)  approximate (passes", run.Stdout);
        Assert.Contains("on your backward beside autograd: pass", run.Stdout);
        Assert.Contains("Exercise 5, your training loop for 5 steps beside the lecture's: exact — bitwise the lecture's loop at all 5 steps", run.Stdout);
    }

    [DataFact]
    public void OneMistakeFlagsExactlyThatLineWithItsHint()
    {
        var run = Stage(s.MistakeRun);
        Assert.True(run.ExitCode == 1, run.Output); // an attempted answer is wrong
        var lines = ReportLine.Parse(run.Stdout);
        Assert.Equal(26, lines.Count);
        var wrong = Assert.Single(lines, l => l.Verdict != "exact");
        Assert.Equal(("bndiff2", "WRONG"), (wrong.Name, wrong.Verdict));
        Assert.Equal("n vs n−1 (Bessel's correction)", wrong.Cause); // autograd's is n/(n−1) = 32/31 × the manual one
        Assert.Contains("25/26 exact · 1 wrong (bndiff2: n vs n−1 (Bessel's correction))", run.Stdout);
        Assert.Contains("1/(n−1) = 1/31, not 1/n = 1/32", run.Stdout); // the full hint, under the table
        // Chained, as the notebook's cmp: the mistake spreads to every line fed by it, and only to those.
        var chainedWrong = lines.Where(l => l.Chained != "exact").Select(l => l.Name).ToList();
        Assert.Equal(["bndiff2", "bndiff", "bnmeani", "hprebn", "embcat", "W1", "b1", "emb", "C"], chainedWrong);
        // The chained column says where the failing lines below get it from (bnmeani and b1 pass, approximate).
        Assert.Equal("WRONG", lines.Single(l => l.Name == "bndiff2").Chained);
        Assert.Equal(["bndiff", "hprebn", "embcat", "W1", "emb", "C"], lines.Where(l => l.Chained == "inherits ← dbndiff2").Select(l => l.Name));
        Assert.Equal(["bnmeani", "b1"], lines.Where(l => l.Chained == "approximate").Select(l => l.Name));

        // dotnet test: that line fails with its cause (and the chained finish line with it); the rest pass.
        var test = Stage(s.MistakeTest);
        Assert.Equal(new TestCounts(Failed: 3, Passed: 28, Skipped: 0), TestCounts.Parse(test.Output));
        Assert.Equal(["Ninja.Exercise1Tests.Line18_dbndiff2", "Ninja.Exercise1Tests.Line27_chained_26_of_26_exact",
            "Ninja.Exercise5Tests.the_training_loop_zero_grad_backward_step"], TestCounts.Names(test.Output, "Failed"));
        Assert.Contains("dbndiff2: WRONG", test.Output);
    }

    /// <summary>Exercise 5 without the zeroing line (planted beside Exercise 1's mistake, in the same build): WRONG at
    /// Exercise5.cs(LINE,COL), named "never zeroed" with the step whose gradient is the sum, in the report and the test.</summary>
    [DataFact]
    public void ALoopThatNeverZeroesIsNamedAtTheLearnersLine()
    {
        var run = Stage(s.MistakeRun);
        var source = File.ReadAllLines(Path.Combine(fixture.Folder, "ninja", "Exercise5.cs"));
        int line = Array.FindIndex(source, l => l.Contains(" Train(", StringComparison.Ordinal)) + 1; // its first sequence point: the body's {
        int column = source[line - 1].LastIndexOf('{') + 1;
        string at = $"Exercise5.cs({line},{column}): ";
        Assert.Contains("Exercise 5, your training loop for 5 steps beside the lecture's: WRONG — the gradients were never zeroed\n", run.Stdout);
        Assert.Contains(at + "loop: WRONG — the gradient at step 2 equals the sum of steps 1–2: the gradients were never zeroed — PyTorch and TorchSharp accumulate them", run.Stdout);
        Assert.Contains(at + "Train: WRONG — the gradients were never zeroed", Stage(s.MistakeTest).Output);
    }

    /// <summary>dbngain = dhpreact.mul_(bnraw)…: WRONG with the damage named, at Exercise1.cs(LINE,COL) of its method,
    /// in the report and first in the failing test's message; every other line stays exact.</summary>
    [DataFact]
    public void InPlaceDamageIsNamedAtTheLearnersLine()
    {
        var run = Stage(s.InPlaceRun);
        var lines = ReportLine.Parse(run.Stdout);
        var wrong = Assert.Single(lines, l => l.Verdict != "exact");
        Assert.Equal(("bngain", "WRONG", "changed dhpreact in place (mul_)"), (wrong.Name, wrong.Verdict, wrong.Cause));
        var source = File.ReadAllLines(Path.Combine(fixture.Folder, "ninja", "Exercise1.cs"));
        int line = Array.FindIndex(source, l => l.Contains(" dbngain(", StringComparison.Ordinal)) + 1;
        int column = source[line - 1].IndexOf("dhpreact.mul_", StringComparison.Ordinal) + 1;
        string at = $"Exercise1.cs({line},{column}): ";
        Assert.Contains(at + "bngain: WRONG", run.Stdout);
        Assert.Contains("in the notebook this corrupts dbnbias and dbnraw — use dhpreact * bnraw", run.Stdout);

        var test = Stage(s.InPlaceTest);
        Assert.Equal(["Ninja.Exercise1Tests.Line13_dbngain", "Ninja.Exercise1Tests.Line27_chained_26_of_26_exact"], TestCounts.Names(test.Output, "Failed"));
        Assert.Contains(at + "dbngain: WRONG — changed dhpreact in place (mul_)", test.Output);
    }
}

/// <summary>The <c>workbook new</c> command without building anything.</summary>
public class WorkbookCommandTests : CliTestFolder
{
    [Fact]
    public void RefusesAFolderThatIsNotEmptyAndLeavesItAlone()
    {
        string mine = Path.Combine(dir, "Exercise1.cs");
        File.WriteAllText(mine, "my own work");
        var r = CliRunner.Run("workbook", "new", dir);
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.StartsWith("error:", line);
        Assert.Contains("not empty", line);
        Assert.Equal([mine], Directory.GetFileSystemEntries(dir));
        Assert.Equal("my own work", File.ReadAllText(mine));
    }

    /// <summary>A folder that cannot be made (here: below a file) is exit code 2 in one line, not an internal error,
    /// and the file is left as it was.</summary>
    [Fact]
    public void AFolderThatCannotBeMadeIsAnInputErrorThatTouchesNothing()
    {
        string names = Path.Combine(dir, "names.txt");
        File.WriteAllText(names, "emma\nolivia\n");
        var r = CliRunner.Run("workbook", "new", Path.Combine(names, "wb"), "--data", names);
        AssertOneLineError(r, 2, "cannot write the workbook there");
        Assert.Equal([names], Directory.GetFileSystemEntries(dir));
        Assert.Equal("emma\nolivia\n", File.ReadAllText(names));
    }

    /// <summary>workbook new --data reads the file as check does: binary data or too few names is one line, exit 2, nothing written.</summary>
    [Theory]
    [InlineData("binary", ":1:3: character U+0000 is not allowed")]
    [InlineData("one", "has 1 name, which the lecture's 80/10/10 split cuts into 0 for training")]
    public void WorkbookNewChecksTheDataFile(string kind, string expected)
    {
        string names = Path.Combine(dir, "names.txt");
        if (kind == "binary") File.WriteAllBytes(names, [(byte)'a', (byte)'b', 0, 1, 2]);
        else File.WriteAllText(names, "emma\n");
        string target = Path.Combine(dir, "wb");
        var r = CliRunner.Run("workbook", "new", target, "--data", names);
        AssertOneLineError(r, 2, expected);
        Assert.False(Directory.Exists(target));
    }

    /// <summary>The workbook's own run loads its data the same way (its --data): too few names is a DataException, exit 2.</summary>
    [Fact]
    public void TheWorkbooksRunRefusesTooFewNames()
    {
        string names = Path.Combine(dir, "one.txt");
        File.WriteAllText(names, "emma\n");
        var e = Assert.Throws<ManualVsAuto.Data.DataException>(() => WorkbookProgram.LoadTraining(names));
        Assert.Contains("the workbook needs at least one name in the training split (80%), so at least 2 names", e.Message);
    }

    [Fact]
    public void PackageFeedWithoutThatVersionIsAnInputError()
    {
        string target = Path.Combine(dir, "wb");
        var r = CliRunner.Run("workbook", "new", target, "--package", dir, "9.9.9");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no ManualVsAuto.9.9.9.nupkg", r.Stderr);
        Assert.False(Directory.Exists(target));
    }

    [Fact]
    public void PackageWorkbookReferencesThePackageAndItsFeed()
    {
        var files = WorkbookScaffold.Files(new LibrarySource.FromPackage("/feeds/local", "0.3.0"), "/data/names.txt").ToDictionary(f => f.Path, f => f.Text);
        Assert.Contains("<PackageReference Include=\"ManualVsAuto\" Version=\"0.3.0\" />", files["Ninja.csproj"]);
        Assert.DoesNotContain("ProjectReference", files["Ninja.csproj"]);
        Assert.DoesNotContain("<Import", files["Ninja.csproj"]); // the fix comes with the package (buildTransitive)
        Assert.Contains("value=\"/feeds/local\"", files["nuget.config"]);
        Assert.DoesNotContain("<clear", files["nuget.config"]);
        Assert.Contains("@\"/data/names.txt\"", files["Setup.cs"]);
    }

    [Fact]
    public void ScaffoldHoldsBlanksAndNoAnswer()
    {
        var files = WorkbookScaffold.Files(new LibrarySource.FromPackage("/f", "1.0.0"), "/d/names.txt").ToDictionary(f => f.Path, f => f.Text);
        var answers = WorkbookAnswers.Exercise1.Values.Append(WorkbookAnswers.Exercise2).Append(WorkbookAnswers.Exercise3)
            .Select(a => a.TrimStart('=', '>', ' ').TrimEnd(';')).ToList();
        foreach (var (exercise, blanks) in new[] { ("Exercise1.cs", 26), ("Exercise2.cs", 1), ("Exercise3.cs", 1), ("Exercise4.cs", 1), ("Exercise5.cs", 1) })
        {
            var methods = files[exercise].Split('\n').Where(l => l.TrimStart().StartsWith("public ") && l.Contains('(')).ToList();
            Assert.Equal(blanks, methods.Count);
            Assert.All(methods, m => Assert.EndsWith(WorkbookAnswers.Blank, m));
            Assert.All(answers, a => Assert.DoesNotContain(a, files[exercise]));
        }
    }

    [DataFact]
    public void GradesTheGradientsInTheLecturesOrder() =>
        Assert.Equal(LectureFixture.Report.Rows.Take(LectureCheck.StepByStepRowCount).Select(r => r.Name), WorkbookGrader.Names);
}
