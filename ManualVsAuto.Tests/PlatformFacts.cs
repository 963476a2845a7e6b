namespace ManualVsAuto.Tests;

/// <summary>A test that sends a POSIX signal with kill(1) and needs the real data set: skipped, with the reason, on
/// Windows (no kill(1)) or when data/names.txt is missing.</summary>
public sealed class PosixDataFactAttribute : FactAttribute
{
    public PosixDataFactAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = "sends a POSIX signal with kill(1), which Windows does not have";
        else if (RealData.PathOrNull is null) Skip = RealData.SkipReason;
    }
}

/// <summary>A test of something only a Linux host has (the ELF build of TorchSharp's native library): skipped elsewhere.</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "checks the Linux build of TorchSharp's native library";
    }
}
