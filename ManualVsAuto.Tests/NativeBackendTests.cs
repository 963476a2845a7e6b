using System.Text;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>TorchSharp's native library loads on this host (Debian 12 needs the build-time patch) and autograd runs.</summary>
public class NativeBackendTests
{
    [Fact]
    public void NativeBackendLoadsAndAutogradRuns()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1, -2, 3 }).requires_grad_(true);
        var h = (x * x).sum();
        h.backward();
        Assert.Equal(new float[] { 2, -4, 6 }, x.grad!.data<float>().ToArray());
    }

    [Fact]
    public void RetainGradKeepsAnIntermediateGradient()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new double[] { 0.5, 1.5 }).requires_grad_(true);
        var y = x * 3.0;
        y.retain_grad();
        (y * y).sum().backward();
        Assert.Equal(new double[] { 3.0, 9.0 }, y.grad!.data<double>().ToArray());
    }

    [LinuxFact]
    public void OutputCopyIsPatchedOnlyWhenTheHostNeedsIt_AndThePackageCacheIsUntouched()
    {
        string output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(output), $"expected TorchSharp's native library at {output} on a Linux host");
        bool hostHasIt = HostLibStdCxxDefines("GLIBCXX_3.4.32");
        Assert.Equal(!hostHasIt, Elf.IsVersionNeedWeak(File.ReadAllBytes(output), "GLIBCXX_3.4.32"));

        string cache = Path.Combine(
            Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
            "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (File.Exists(cache))
            Assert.False(Elf.IsVersionNeedWeak(File.ReadAllBytes(cache), "GLIBCXX_3.4.32"), "the NuGet cache copy must never be patched");
    }

    private static bool HostLibStdCxxDefines(string version)
    {
        var needle = Encoding.ASCII.GetBytes(version + "\0");
        return new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }
            .Where(File.Exists).Any(p => File.ReadAllBytes(p).AsSpan().IndexOf(needle) >= 0);
    }
}

/// <summary>A minimal independent reader of ELF64 version needs, to check the build's patch from the outside.</summary>
internal static class Elf
{
    public static bool IsVersionNeedWeak(byte[] elf, string version)
    {
        var span = elf.AsSpan();
        long shoff = BitConverter.ToInt64(span[0x28..]);
        int shentsize = BitConverter.ToUInt16(span[0x3A..]), shnum = BitConverter.ToUInt16(span[0x3C..]);
        for (int s = 0; s < shnum; s++)
        {
            var sh = span[(int)(shoff + s * shentsize)..];
            if (BitConverter.ToUInt32(sh[4..]) != 0x6ffffffe) continue;
            long off = BitConverter.ToInt64(sh[0x18..]);
            int link = (int)BitConverter.ToUInt32(sh[0x28..]), count = (int)BitConverter.ToUInt32(sh[0x2C..]);
            long strOff = BitConverter.ToInt64(span[(int)(shoff + link * shentsize + 0x18)..]);
            long vn = off;
            for (int i = 0; i < count; i++)
            {
                long aux = vn + BitConverter.ToUInt32(span[(int)(vn + 8)..]);
                for (int a = 0; a < BitConverter.ToUInt16(span[(int)(vn + 2)..]); a++)
                {
                    long name = strOff + BitConverter.ToUInt32(span[(int)(aux + 8)..]);
                    int end = span[(int)name..].IndexOf((byte)0);
                    if (Encoding.ASCII.GetString(span.Slice((int)name, end)) == version)
                        return (BitConverter.ToUInt16(span[(int)(aux + 4)..]) & 0x2) != 0;
                    aux += BitConverter.ToUInt32(span[(int)(aux + 12)..]);
                }
                vn += BitConverter.ToUInt32(span[(int)(vn + 12)..]);
            }
        }
        throw new InvalidOperationException($"no version need {version} found");
    }
}
