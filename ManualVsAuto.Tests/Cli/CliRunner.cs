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
        RunWith(workingDirectory, new Dictionary<string, string?>(), args);

    /// <param name="environment">Variables to set (a null value removes the variable) for this run.</param>
    public static Result RunWith(string? workingDirectory, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var psi = StartInfo(workingDirectory, args);
        foreach (var (k, v) in environment)
        {
            if (v is null) psi.Environment.Remove(k);
            else psi.Environment[k] = v;
        }
        return Execute(psi, TimeSpan.FromMinutes(5), $"ManualVsAuto {string.Join(' ', args)}");
    }

    /// <summary>
    /// The program with its output redirected. The suite never touches the network: the program's automatic
    /// download of a missing names file is pointed at a proxy on a closed local port, so it fails at once.
    /// </summary>
    public static ProcessStartInfo StartInfo(string? workingDirectory, params string[] args)
    {
        var psi = Redirected(workingDirectory ?? AppContext.BaseDirectory);
        foreach (var name in new[] { "http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY" })
            psi.Environment[name] = NoNetworkProxy;
        psi.Environment.Remove("no_proxy");
        psi.Environment.Remove("NO_PROXY");
        psi.Environment.Remove("MVA_DEBUG");
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ManualVsAuto.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Port 9 (discard) on the loopback interface: nothing listens there, so a connection is refused.</summary>
    public const string NoNetworkProxy = "http://127.0.0.1:9";

    /// <summary><c>dotnet ARGS</c> in <paramref name="workingDirectory"/> (e.g. building a workbook); killed (and a TimeoutException) after <paramref name="timeout"/>.</summary>
    public static Result Dotnet(string workingDirectory, TimeSpan timeout, params string[] args)
    {
        var psi = Redirected(workingDirectory);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Execute(psi, timeout, $"dotnet {string.Join(' ', args)}");
    }

    private static ProcessStartInfo Redirected(string workingDirectory) => new("dotnet")
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        UseShellExecute = false,
        WorkingDirectory = workingDirectory,
    };

    private static Result Execute(ProcessStartInfo psi, TimeSpan timeout, string what)
    {
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{what} did not finish");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
