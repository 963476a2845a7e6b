using System.Globalization;
using System.Runtime.InteropServices;

namespace ManualVsAuto.Training;

/// <summary>
/// One writer per checkpoint: a run holds an advisory lock for its whole life on the sidecar <c>.NAME.lock</c> beside
/// the checkpoint (the checkpoint itself is replaced by rename, so a lock on it would not hold). On Linux the lock is
/// a POSIX record lock (<c>fcntl F_SETLK</c>), which the kernel drops when the process ends however it ends, and whose
/// owner's process id a second run reads with <c>F_GETLK</c>; elsewhere an exclusive open. The sidecar stays after
/// the run (removing it would let two runs lock two different files). Taking the lock also removes the temporary
/// files of this checkpoint left by killed runs, and proves the folder writable before any training.
/// </summary>
public sealed class CheckpointLock : IDisposable
{
    private readonly FileStream file;

    private CheckpointLock(FileStream file, string path)
    {
        this.file = file;
        LockPath = path;
    }

    /// <summary>The sidecar file.</summary>
    public string LockPath { get; }

    public static string SidecarOf(string checkpointPath)
    {
        string full = Path.GetFullPath(checkpointPath);
        return Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.lock");
    }

    /// <exception cref="CheckpointException">Another process holds the lock (its id in the message), or the folder cannot be written.</exception>
    public static CheckpointLock Acquire(string checkpointPath)
    {
        string full = Path.GetFullPath(checkpointPath);
        string dir = Path.GetDirectoryName(full)!;
        string sidecar = SidecarOf(full);
        FileStream f;
        try
        {
            Directory.CreateDirectory(dir);
            f = new FileStream(sidecar, FileMode.OpenOrCreate, FileAccess.ReadWrite,
                OperatingSystem.IsLinux() ? FileShare.ReadWrite : FileShare.None);
        }
        catch (IOException e) when (!OperatingSystem.IsLinux() && File.Exists(sidecar))
        {
            throw new CheckpointException($"{full} is in use by another train run (its lock {sidecar} is held); wait for it to end or choose another --checkpoint path.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"cannot write the checkpoint's folder {dir} ({e.Message.TrimEnd('.')}); choose another --checkpoint path.", e);
        }
        try
        {
            if (OperatingSystem.IsLinux() && TryLock(f) is { } owner)
                throw new CheckpointException(owner > 0
                    ? $"{full} is in use by another train run (process {owner}); wait for it to end, stop it, or choose another --checkpoint path."
                    : $"{full} is in use by another train run; wait for it to end or choose another --checkpoint path.");
            f.SetLength(0);
            f.Write(System.Text.Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}\n")));
            f.Flush();
            RemoveStaleTemporaries(full);
            ProveWritable(full);
            return new CheckpointLock(f, sidecar);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            f.Dispose();
            throw new CheckpointException($"cannot write the checkpoint's folder {dir} ({e.Message.TrimEnd('.')}); choose another --checkpoint path.", e);
        }
        catch
        {
            f.Dispose();
            throw;
        }
    }

    /// <summary>Temporary files of this checkpoint (<see cref="CheckpointFile.TempPrefix"/>…<c>.tmp</c>): only a run
    /// holding the lock writes them, so under the lock every one is a dead run's.</summary>
    private static void RemoveStaleTemporaries(string full)
    {
        foreach (var stale in Directory.EnumerateFiles(Path.GetDirectoryName(full)!, CheckpointFile.TempPrefix(full) + "*.tmp"))
            File.Delete(stale);
    }

    /// <summary>A --resume into a folder that no longer takes files would fail at its first save, after hours: fail now.</summary>
    private static void ProveWritable(string full)
    {
        string probe = Path.Combine(Path.GetDirectoryName(full)!, CheckpointFile.TempPrefix(full) + $"{Guid.NewGuid():N}.tmp");
        using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
        {
        }
    }

    /// <summary>Takes the write lock on the whole file, or returns the owner's process id (0 if unknown).</summary>
    private static int? TryLock(FileStream f)
    {
        int fd = (int)f.SafeFileHandle.DangerousGetHandle();
        var lk = new Flock { Type = WriteLock, Whence = 0, Start = 0, Length = 0 };
        if (Fcntl(fd, SetLock, ref lk) == 0) return null;
        int errno = Marshal.GetLastPInvokeError();
        if (errno is not (EAgain or EAccess)) throw new IOException($"cannot lock {f.Name} (errno {errno})");
        var query = new Flock { Type = WriteLock, Whence = 0, Start = 0, Length = 0 };
        return Fcntl(fd, GetLock, ref query) == 0 && query.Type != Unlock ? query.Pid : 0;
    }

    public void Dispose() => file.Dispose(); // closing the descriptor releases the lock

    // Linux's struct flock and fcntl commands (the same on x86-64 and arm64).
    [StructLayout(LayoutKind.Sequential)]
    private struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    private const int GetLock = 5, SetLock = 6;
    private const short WriteLock = 1, Unlock = 2;
    private const int EAccess = 13, EAgain = 11;

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int command, ref Flock lk);
}
