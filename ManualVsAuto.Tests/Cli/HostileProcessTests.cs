using System.Diagnostics;
using System.Security.Cryptography;

namespace ManualVsAuto.Tests;

/// <summary>A theory that needs Linux (POSIX redirections, signals, record locks): skipped elsewhere, with the reason.</summary>
public sealed class PosixTheoryAttribute : TheoryAttribute
{
    public PosixTheoryAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "needs Linux: POSIX redirections, signals and record locks";
    }
}

/// <summary>A folder with made-up names and two small checkpoints (the MLP's, final; a WaveNet's), made once.</summary>
public sealed class HostileFolder : IDisposable
{
    public readonly string Dir = Directory.CreateTempSubdirectory("mva-hostile-").FullName;

    public HostileFolder()
    {
        File.WriteAllLines(Path.Combine(Dir, "names.txt"), Enumerable.Range(0, 60).Select(i => new string((char)('a' + i % 26), 3 + i % 5) + (char)('a' + i / 26)));
        foreach (var (model, file) in new[] { ("mlp", "mlp.ckpt"), ("wavenet", "wavenet.ckpt") })
        {
            var r = CliRunner.RunIn(Dir, "train", "--model", model, "--data", "names.txt", "--steps", "5", "--hidden", "4", "--checkpoint", file);
            if (r.ExitCode != 0) throw new InvalidOperationException($"fixture: train --model {model} failed: {r.Stderr}");
        }
        Hashes = Sealed.ToDictionary(f => f, Hash);
    }

    /// <summary>The files no case may change.</summary>
    public static readonly string[] Sealed = ["names.txt", "mlp.ckpt", "wavenet.ckpt"];

    public Dictionary<string, string> Hashes { get; }

    public string Hash(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(Dir, file))));

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

/// <summary>
/// The hostile-input suite's process half (issue 19): each case is a shell line a hostile user would type, run
/// against the built program (<c>$MVA</c>) in a folder with names (<c>names.txt</c>) and two checkpoints
/// (<c>mlp.ckpt</c>, <c>wavenet.ckpt</c>). Every case asserts the exit code, that stderr is empty or one line
/// (containing the expected words), that nothing aborted or printed a stack trace, and that the folder's sealed
/// files are unchanged. About a second a case: grouped under the trait <c>Category=HostileProcess</c>, which CI runs.
/// Linux only (the redirections, signals and locks are POSIX).
/// </summary>
[Trait("Category", "HostileProcess")]
public sealed class HostileProcessTests(HostileFolder folder) : IClassFixture<HostileFolder>
{
    private const string T = "--data names.txt --steps 5 --hidden 4"; // a small training run

    [PosixTheory]
    // Options of every command.
    [InlineData("check --hidden 0", 2, "--hidden must be at least 1")]
    [InlineData("check --batch-size 1", 2, "--batch-size must be at least 2")]
    [InlineData("check --format xml", 2, "--format must be one of")]
    [InlineData("check --seed -1", 2, "--seed must be a whole number")]
    [InlineData("check --threads 0", 2, "--threads must be at least 1")]
    [InlineData("check --data ''", 2, "--data needs a path")]
    [InlineData("check -- --seed", 2, "'--seed' comes after '--'")]
    [InlineData("trian", 2, "did you mean train?")]
    [InlineData("train --steps 0", 2, "--steps must be at least 1")]
    [InlineData("train --steps 536870912", 2, "--steps must be at most 100,000,000")]
    [InlineData("train --lr nan", 2, "--lr must be a positive number")]
    [InlineData("train --lr -1", 2, "--lr must be a positive number")]
    [InlineData("train --checkpoint ''", 2, "--checkpoint needs a path")]
    [InlineData("train --plot ''", 2, "--plot needs a path")]
    [InlineData("train " + T + " --checkpoint p1.ckpt --plot p1.txt", 2, "give a path ending in .png")]
    [InlineData("train " + T + " --checkpoint p2.ckpt --resume --overwrite", 2, "contradict each other")]
    [InlineData("train --backward magic", 2, "--backward must be one of")]
    [InlineData("train --model cnn", 2, "--model must be one of")]
    [InlineData("train " + T + " --verify-every 1 --backward autograd --checkpoint p3.ckpt", 2, "does not apply to --backward autograd")]
    [InlineData("sample --count -1", 2, "--count must be at least 0")]
    [InlineData("sample --checkpoint ''", 2, "--checkpoint needs a path")]
    [InlineData("workbook new ''", 2, "DIR needs a path")]
    [InlineData("workbook frob", 2, "unknown command or argument 'frob'")]
    [InlineData("help frob", 2, "frob")]
    [InlineData("benchmark --frob", 2, "unknown option '--frob'")]
    // Data files.
    [InlineData("check --numeric off --data d1.txt", 2, "d1.txt:1:5: character U+0000 is not allowed", "printf 'emma\\0\\n' > d1.txt")]
    [InlineData("check --data d2.txt", 2, "d2.txt:1:1: character U+0000 is not allowed", "truncate -s 200M d2.txt")]
    [InlineData("train --data d3.txt --checkpoint d3.ckpt", 2, "d3.txt:2:2: byte 0xFF is not valid UTF-8", "printf 'ava\\na\\377b\\n' > d3.txt", "test ! -e d3.ckpt")]
    [InlineData("check --data nothere.txt", 2, "nothere.txt (")]
    [InlineData("train --data d4.txt --checkpoint d4.ckpt --steps 5", 2, "at least 6 names", "printf 'ava\\nbob\\n' > d4.txt", "test ! -e d4.ckpt")]
    [InlineData("train --resume --data d5.txt --checkpoint d5.ckpt", 2, "was trained on a names file with sha256 ", "cp mlp.ckpt d5.ckpt; printf 'zed\\nabc\\nxyz\\nqqq\\nwww\\nrrr\\n' > d5.txt", "cmp -s mlp.ckpt d5.ckpt")]
    // Checkpoints.
    [InlineData("sample --checkpoint /dev/zero", 2, "/dev/zero is not a ManualVsAuto checkpoint")]
    [InlineData("sample --checkpoint /dev/null", 2, "/dev/null is not a ManualVsAuto checkpoint")]
    [InlineData("sample --checkpoint .", 2, "is a directory, not a checkpoint file")]
    [InlineData("sample --checkpoint c1.ckpt", 2, "is truncated", "head -c 300 mlp.ckpt > c1.ckpt")]
    [InlineData("sample --checkpoint c2.ckpt", 2, "does not match its checksum", "cp mlp.ckpt c2.ckpt; printf 'x' | dd of=c2.ckpt bs=1 seek=60 conv=notrunc 2>/dev/null")]
    [InlineData("sample --checkpoint c3.ckpt", 2, "does not match its checksum", "cp wavenet.ckpt c3.ckpt; printf 'x' | dd of=c3.ckpt bs=1 seek=2000 conv=notrunc 2>/dev/null")]
    [InlineData("train --resume --data names.txt --checkpoint c4.ckpt", 2, "does not match its checksum", "cp wavenet.ckpt c4.ckpt; printf 'x' | dd of=c4.ckpt bs=1 seek=40 conv=notrunc 2>/dev/null")]
    [InlineData("train --resume --data names.txt --checkpoint c5.ckpt", 2, "no checkpoint there to resume")]
    [InlineData("train " + T + " --checkpoint c6.ckpt", 2, "is not a ManualVsAuto checkpoint; not overwriting it", "echo hello > c6.ckpt", "test \"$(cat c6.ckpt)\" = hello")]
    [InlineData("train " + T + " --checkpoint c7.ckpt", 2, "already exists (a manual run at step 5 of 5)", "cp mlp.ckpt c7.ckpt", "cmp -s mlp.ckpt c7.ckpt")]
    [InlineData("train --resume --data names.txt --hidden 7 --checkpoint c8.ckpt", 2, "these flags disagree: --hidden 7 (the checkpoint has 4)", "cp mlp.ckpt c8.ckpt", "cmp -s mlp.ckpt c8.ckpt")]
    [InlineData("sample --model wavenet --checkpoint mlp.ckpt", 2, "holds the mlp net, not --model wavenet")]
    [InlineData("train " + T + " --checkpoint c9/x.ckpt", 2, "cannot write the checkpoint's folder", "echo x > c9")]
    [InlineData("train --resume --steps 8 --data names.txt --checkpoint c10.ckpt", 0, null, "cp mlp.ckpt c10.ckpt; touch .c10.ckpt.0123.tmp", "test ! -e .c10.ckpt.0123.tmp")]
    [InlineData("train --resume --steps 3 --data names.txt --checkpoint c11.ckpt", 2, "--steps 3 is below step 5", "cp mlp.ckpt c11.ckpt", "cmp -s mlp.ckpt c11.ckpt")]
    [InlineData("sample --checkpoint mlp.ckpt --count 3", 0, null)]
    [InlineData("sample --checkpoint wavenet.ckpt --count 3", 0, null)]
    // Outputs: closed, full, appended, shared with other writers.
    [InlineData("check --numeric off --data names.txt >&-", 74, "cannot write to standard output: it is closed.")]
    [InlineData("check --numeric off --data names.txt > /dev/full", 74, "cannot write to standard output: No space left on device.")]
    [InlineData("check --hidden 0 2>&-", 74, null)]
    [InlineData("check --hidden 0 2> /dev/full", 74, null)]
    [InlineData("train " + T + " --checkpoint o1.ckpt >&-", 74, "cannot write to standard output: it is closed.")]
    [InlineData("train " + T + " --checkpoint o2.ckpt > /dev/full", 74, "cannot write to standard output: No space left on device.")]
    [InlineData("train " + T + " --checkpoint o3.ckpt 2>&-", 74, null, "", "test ! -e o3.ckpt || ! grep -q Training o3.ckpt")]
    [InlineData("train " + T + " --checkpoint o4.ckpt 2> /dev/full", 74, null)]
    [InlineData("sample --checkpoint mlp.ckpt >&-", 74, "cannot write to standard output: it is closed.")]
    [InlineData("sample --checkpoint mlp.ckpt > /dev/full", 74, "cannot write to standard output: No space left on device.")]
    [InlineData("sample --checkpoint nothere.ckpt 2>&-", 74, null)]
    [InlineData("sample --checkpoint nothere.ckpt 2> /dev/full", 74, null)]
    [InlineData("workbook new o5 --data names.txt >&-", 74, "cannot write to standard output: it is closed.")]
    [InlineData("--help > /dev/full", 74, "cannot write to standard output")]
    [InlineData("help train >&-", 74, "cannot write to standard output")]
    [InlineData("benchmark --frob 2> /dev/full", 74, null)]
    [InlineData("sample --checkpoint mlp.ckpt --count 3 >> o6.txt", 0, null, "echo first > o6.txt", "test $(wc -l < o6.txt) = 4 && head -1 o6.txt | grep -qx first")]
    [InlineData("check --numeric off --data names.txt --format csv >> o7.txt", 0, null, "echo first > o7.txt", "head -1 o7.txt | grep -qx first && test $(wc -l < o7.txt) -gt 2")]
    [InlineData("sample --checkpoint mlp.ckpt --count 1000000 | head -2 > o8.txt; exit ${PIPESTATUS[0]}", 0, null, "", "test $(wc -l < o8.txt) = 2")]
    public void AHostileLineIsOneLineAndItsExitCode(string line, int code, string? expected, string setup = "", string after = "true") =>
        Case(setup, "$MVA " + line, code, expected, after);

    /// <summary>Output shared with the shell's other writers lands in order, not over them (stdout at the descriptor's own offset).</summary>
    [PosixTheory]
    [InlineData("{ echo header; $MVA sample --checkpoint mlp.ckpt --count 3; echo footer; } > s1.txt", "test $(wc -l < s1.txt) = 5 && head -1 s1.txt | grep -qx header && tail -1 s1.txt | grep -qx footer")]
    [InlineData("for s in 1 2; do $MVA sample --checkpoint mlp.ckpt --count 3 --seed $s; done > s2.txt", "test $(wc -l < s2.txt) = 6")]
    [InlineData("{ $MVA check --numeric off --data names.txt --format csv; echo footer; } > s3.txt", "tail -1 s3.txt | grep -qx footer && head -1 s3.txt | grep -q ,")]
    [InlineData("{ echo header; $MVA train --data names.txt --steps 5 --hidden 4 --checkpoint s4.ckpt; } > s4.txt 2>&1", "head -1 s4.txt | grep -qx header && grep -q '^val ' s4.txt")]
    public void SharedOutputLandsInOrder(string line, string after) => Case("", line, 0, null, after);

    /// <summary>SIGINT and SIGTERM in every phase: the loop, evaluation and calibration, sampling; the checkpoint kept, exit 128 + the signal.</summary>
    [PosixTheory]
    [InlineData("sample --checkpoint mlp.ckpt --count 100000000 > /dev/null", "TERM", "sleep 3", 143, "Stopped by SIGTERM after")]
    [InlineData("sample --checkpoint mlp.ckpt --count 100000000 > /dev/null", "INT", "sleep 3", 130, "Interrupted after")]
    [InlineData("train --data names.txt --steps 100000000 --hidden 4 --checkpoint g1.ckpt", "TERM", "until [ -e g1.ckpt ]; do sleep 0.1; done; sleep 1", 143, "Stopped by SIGTERM at step")]
    [InlineData("train --data names.txt --steps 100000000 --hidden 4 --checkpoint g2.ckpt", "INT", "until [ -e g2.ckpt ]; do sleep 0.1; done; sleep 1", 130, "Interrupted at step")]
    [InlineData("train --data names.txt --steps 3 --hidden 40000 --batch-size 2 --checkpoint g3.ckpt > /dev/null", "TERM", "until grep -q 'steps in' e.txt; do sleep 0.05; done", 143, "Stopped by SIGTERM at step 3 of 3")]
    public void ASignalStopsEveryPhase(string line, string signal, string wait, int code, string expected)
    {
        // Job control (set -m): a background job of a non-interactive shell would otherwise ignore SIGINT.
        string script = $"set -m; $MVA {line} 2> e.txt & p=$!; {wait}; kill -{signal} $p; wait $p; rc=$?; cat e.txt >&2; " +
                        "c=$(ls g*.ckpt 2>/dev/null | head -1); if [ -n \"$c\" ]; then $MVA sample --checkpoint $c --count 1 --data names.txt > /dev/null 2>&1 || rc=98; rm -f $c; fi; exit $rc";
        var r = Shell(script);
        Assert.True(r.ExitCode == code, $"exit {r.ExitCode}: {r.Stderr}");
        Assert.Contains(expected, r.Stderr.TrimEnd().Split('\n')[^1]);
        AssertNoCrash(r);
    }

    /// <summary>Two runs on one checkpoint: exactly one runs; the other (a new run or a --resume) is refused naming the first's process.</summary>
    [PosixTheory]
    [InlineData("train --data names.txt --steps 5 --hidden 4 --overwrite --checkpoint k.ckpt")]
    [InlineData("train --data names.txt --resume --checkpoint k.ckpt")]
    public void ASecondWriterIsRefused(string second)
    {
        string script = "set -m; $MVA train --data names.txt --steps 100000000 --hidden 4 --checkpoint k.ckpt > /dev/null 2> e.txt & p=$!; " +
                        "until [ -e k.ckpt ]; do sleep 0.1; done; " +
                        $"$MVA {second}; rc=$?; echo \"first=$p\" >&2; kill -TERM $p; wait $p; test $? = 143 || rc=97; rm -f k.ckpt; exit $rc";
        var r = Shell(script);
        var lines = r.Stderr.TrimEnd().Split('\n');
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.Stderr}");
        string pid = lines.Single(l => l.StartsWith("first=", StringComparison.Ordinal))["first=".Length..];
        Assert.Equal($"is in use by another train run (process {pid})", System.Text.RegularExpressions.Regex.Match(lines[0], @"is in use by another train run \(process \d+\)").Value);
        Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));
    }

    private void Case(string setup, string line, int code, string? expected, string after)
    {
        var r = Shell($"{(setup.Length > 0 ? setup + "; " : "")}{line}; rc=$?; {after} || {{ echo \"after-check failed: {after.Replace("\"", "\\\"")}\" >&2; exit 99; }}; exit $rc");
        Assert.True(r.ExitCode == code, $"exit {r.ExitCode}, expected {code}: {r.Stderr}");
        AssertNoCrash(r);
        var lines = r.Stderr.TrimEnd('\n').Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (expected is not null)
        {
            // A refused run is one line; a run that fails later (an output error) may have said what it started first.
            Assert.True(code != 2 || lines.Length == 1, r.Stderr);
            Assert.Single(lines, l => l.StartsWith("error: ", StringComparison.Ordinal));
            Assert.StartsWith("error: ", lines[^1]);
            Assert.Contains(expected, lines[^1]);
        }
        else if (code != 0)
            Assert.True(lines.Length == 0, $"stderr should be unwritable here, yet: {r.Stderr}");
        foreach (var f in HostileFolder.Sealed) Assert.Equal(folder.Hashes[f], folder.Hash(f));
    }

    private static void AssertNoCrash(CliRunner.Result r)
    {
        Assert.NotEqual(134, r.ExitCode);
        Assert.NotEqual(70, r.ExitCode);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
        Assert.DoesNotContain("internal error", r.Stderr);
    }

    private CliRunner.Result Shell(string script)
    {
        var psi = CliRunner.StartInfo(folder.Dir);
        psi.FileName = "bash";
        psi.ArgumentList.Clear();
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        psi.Environment["MVA"] = $"dotnet {Path.Combine(AppContext.BaseDirectory, "ManualVsAuto.dll")}";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException(script);
        }
        return new CliRunner.Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
