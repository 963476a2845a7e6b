using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// libtorch's intra-op thread count is process-wide while xunit runs test classes in parallel. The suite fixes it
/// at 1 (every in-process check and training run uses 1) before any test starts, so no test changes it under
/// another one. A test that needs another count
/// runs the program in its own process (as the CLI tests do).
/// </summary>
internal static class LibTorchThreads
{
#pragma warning disable CA2255 // a test assembly's own setup, not a library's
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Init() => set_num_threads(1);
}
