using System.Runtime.CompilerServices;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>
/// libtorch's intra-op thread count is process-wide, and a reduction's rounding can depend on it, while xunit runs
/// test classes in parallel. The suite fixes it at 1 before any test starts (<see cref="LibTorchThreadsAtOne"/>);
/// tests that set it to anything else run in this collection, alone, after the parallel ones, and set it back.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LibTorchThreads
{
    public const string Name = "libtorch threads";
}

internal static class LibTorchThreadsAtOne
{
#pragma warning disable CA2255 // a test assembly's own setup, not a library's
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Init() => set_num_threads(1);
}
