namespace ManualVsAuto.Tests;

/// <summary>
/// libtorch's intra-op thread count is process-wide, and a reduction's rounding can depend on it: tests that set it to
/// anything but the default 1 run in this collection, alone, after the parallel ones, and set it back.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LibTorchThreads
{
    public const string Name = "libtorch threads";
}
