using System.Runtime.InteropServices;

namespace ManualVsAuto.Training;

/// <summary>
/// Gives freed native memory back to the system. libtorch's CPU allocator (posix_memalign) under glibc does not
/// reliably reuse freed multi-MiB blocks: an evaluation pass with fresh temporaries per chunk grew the heap by hundreds
/// of MiB, at random. <c>malloc_trim</c> after each chunk returns the free pages, so memory stays bounded by one chunk.
/// </summary>
internal static class NativeHeap
{
    private static bool available = OperatingSystem.IsLinux();

    public static void Trim()
    {
        if (!available) return;
        try
        {
            malloc_trim(0);
        }
        catch (EntryPointNotFoundException)
        {
            available = false; // a libc without it (musl)
        }
        catch (DllNotFoundException)
        {
            available = false;
        }
    }

    [DllImport("libc", ExactSpelling = true)]
    private static extern int malloc_trim(nuint pad);
}
