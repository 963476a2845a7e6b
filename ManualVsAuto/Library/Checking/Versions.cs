using System.Reflection;

namespace ManualVsAuto.Checking;

/// <summary>The versions printed above a report: results depend on libtorch's kernels.</summary>
public static class Versions
{
    public static string TorchSharp { get; } =
        typeof(TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(TorchSharp.torch).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>TorchSharp-cpu 0.107.0 bundles libtorch 2.10.0 (the libtorch-cpu package this project references).</summary>
    public const string LibTorch = "2.10.0";
}
