using System.Diagnostics;

namespace ManualVsAuto.Tests;

/// <summary>Runs the built program (or the dotnet CLI) as a user would, to check exit codes and what it prints.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Output => Stdout + Stderr;
    }

    public static Result Run(params string[] args) => RunIn(null, args);

    public static Result RunIn(string? workingDirectory, params string[] args) =>
        Dotnet(workingDirectory ?? AppContext.BaseDirectory, TimeSpan.FromMinutes(5), [Path.Combine(AppContext.BaseDirectory, "ManualVsAuto.dll"), .. args]);

    /// <summary><c>dotnet ARGS</c> in <paramref name="workingDirectory"/>; killed (and a TimeoutException) after <paramref name="timeout"/>.</summary>
    public static Result Dotnet(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
