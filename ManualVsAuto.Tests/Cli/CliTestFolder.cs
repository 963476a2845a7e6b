namespace ManualVsAuto.Tests;

/// <summary>A CLI test class's own temporary folder: the program runs there, and every file a test makes goes there.</summary>
public abstract class CliTestFolder : IDisposable
{
    protected readonly string dir = Directory.CreateTempSubdirectory("mva-cli-").FullName;

    public void Dispose()
    {
        Directory.Delete(dir, recursive: true);
        GC.SuppressFinalize(this);
    }

    protected CliRunner.Result Run(params string[] args) => CliRunner.RunIn(dir, args);

    /// <summary>A names file of <paramref name="count"/> made-up names (aaa, bbbb, …), for tests that need no real data.</summary>
    protected string Names(int count)
    {
        string path = Path.Combine(dir, $"names{count}.txt");
        File.WriteAllLines(path, Enumerable.Range(0, count).Select(i => new string((char)('a' + i % 26), 3 + i % 4)));
        return path;
    }

    /// <summary>The exit code, and exactly one stderr line "error: …" containing <paramref name="expected"/>, with no stack trace.</summary>
    public static void AssertOneLineError(CliRunner.Result r, int exitCode, string expected)
    {
        Assert.Equal(exitCode, r.ExitCode);
        var lines = r.Stderr.TrimEnd().Split('\n');
        Assert.True(lines.Length == 1, r.Stderr);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", r.Stderr);
    }
}
