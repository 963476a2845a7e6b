using System.Runtime.InteropServices;
using System.Text;

namespace ManualVsAuto.Cli;

/// <summary>
/// stdout and stderr as plain <c>write(2)</c> calls on descriptors 1 and 2 (Linux, macOS), so output lands at the
/// descriptor's own offset as a shell's other writers' does (<c>&gt;&gt;</c>, <c>{ …; } &gt; f</c>, loops into one file).
/// A reader that has gone (<c>| head</c>) stops output quietly (<see cref="ReaderGone"/>); any other failure (a full
/// disk, <c>/dev/full</c>, a closed descriptor) is an <see cref="OutputException"/>, exit code 74. A descriptor that
/// was closed when the program started is never written: its number is held by <c>/dev/null</c> so no file the
/// program opens (a checkpoint) can take it, and one that the runtime already took for itself (it has close-on-exec
/// set, which an inherited descriptor never has) is left alone.
/// </summary>
public static class StandardStreams
{
    private static readonly List<Microsoft.Win32.SafeHandles.SafeFileHandle> placeholders = [];

    /// <summary>stdout's reader closed the pipe: whatever else is printed goes nowhere, and loops that only print may stop.</summary>
    public static bool ReaderGone { get; internal set; }

    /// <summary>Replaces <see cref="Console.Out"/> and <see cref="Console.Error"/>; call once, first thing in Main.</summary>
    public static void Install()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        bool input = Usable(0), output = Usable(1), error = Usable(2);
        _ = input; // stdin is never read; its number is held all the same
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        Console.SetOut(new StreamWriter(new DescriptorStream(1, "standard output", output), utf8, 256) { AutoFlush = true });
        Console.SetError(new StreamWriter(new DescriptorStream(2, "standard error", error), utf8, 256) { AutoFlush = true });
    }

    /// <summary>Whether descriptor <paramref name="fd"/> is the one the program was started with.</summary>
    private static bool Usable(int fd)
    {
        int flags = Fcntl(fd, GetDescriptorFlags, 0);
        if (flags == -1)
        {
            // Closed: take the number, so the next file opened cannot become "stdout".
            var h = File.OpenHandle("/dev/null", FileMode.Open, fd == 0 ? FileAccess.Read : FileAccess.Write);
            placeholders.Add(h);
            return false;
        }
        return (flags & CloseOnExec) == 0;
    }

    private const int GetDescriptorFlags = 1, CloseOnExec = 1;

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int Fcntl(int fd, int command, nint arg);

    /// <summary>Writes to a descriptor with <c>write(2)</c>, whole buffers, retrying interrupted and partial writes.</summary>
    private sealed class DescriptorStream(int fd, string name, bool usable) : Stream
    {
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (!usable) throw new OutputException($"cannot write to {name}: it is closed.");
            while (buffer.Length > 0)
            {
                if (fd == 1 && ReaderGone) return;
                nint n = WriteBytes(fd, ref MemoryMarshal.GetReference(buffer), buffer.Length);
                if (n >= 0)
                {
                    buffer = buffer[(int)n..];
                    continue;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno == EIntr) continue;
                if (errno == EAgain) { Thread.Sleep(1); continue; } // a non-blocking descriptor that is full for now
                if (errno == EPipe)
                {
                    if (fd == 1) ReaderGone = true; // the reader has gone: as a shell's tools, stop printing, quietly
                    return;
                }
                throw new OutputException($"cannot write to {name}: {Marshal.GetPInvokeErrorMessage(errno)}.");
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush() { }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        // Linux's numbers; macOS shares EINTR and EPIPE, and its EAGAIN (35) is then an error, as a blocking descriptor never returns it.
        private const int EIntr = 4, EAgain = 11, EPipe = 32;

        [DllImport("libc", EntryPoint = "write", SetLastError = true)]
        private static extern nint WriteBytes(int fd, ref byte buffer, nint count);
    }
}

/// <summary>stdout or stderr cannot be written (closed, full, an I/O error): exit code 74, EX_IOERR.</summary>
public sealed class OutputException(string message) : IOException(message);
