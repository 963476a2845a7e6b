using ManualVsAuto.Data;
using Xunit.Sdk;

namespace ManualVsAuto.Tests;

/// <summary>
/// The repository's data/names.txt, found as the program finds it but never downloaded: tests that need it are
/// marked <see cref="DataFactAttribute"/> / <see cref="DataTheoryAttribute"/> and are skipped without it, while
/// <see cref="RealDataFileTests.NamesTxtIsInPlace"/> fails once and says where to put the file.
/// </summary>
public static class RealData
{
    /// <summary>The full path of the names file, or null when there is none.</summary>
    public static string? PathOrNull { get; } = DataLocator.FindExisting(Directory.GetCurrentDirectory(), AppContext.BaseDirectory);

    /// <summary>Where the file belongs: data/names.txt in the repository that holds the tests.</summary>
    public static string ExpectedPath => DataLocator.DownloadTarget(Directory.GetCurrentDirectory(), AppContext.BaseDirectory);

    public static string MissingMessage =>
        $"The data set is missing: put names.txt at {ExpectedPath} (from {NamesDownloader.Url}, or run " +
        "`dotnet run --project ManualVsAuto` once, which downloads it). The tests never download it; " +
        "the tests that need it are skipped until it is there.";

    public const string SkipReason = "needs data/names.txt (missing; see the failing test RealDataFileTests.NamesTxtIsInPlace)";

    /// <summary>The full path of the names file; fails the test (it never downloads) when there is none.</summary>
    public static string Path => PathOrNull ?? throw new XunitException(MissingMessage);
}

/// <summary>A fact that needs the real data set: skipped, with the reason, when data/names.txt is missing.</summary>
public sealed class DataFactAttribute : FactAttribute
{
    public DataFactAttribute()
    {
        if (RealData.PathOrNull is null) Skip = RealData.SkipReason;
    }
}

/// <summary>A theory that needs the real data set: skipped, with the reason, when data/names.txt is missing.</summary>
public sealed class DataTheoryAttribute : TheoryAttribute
{
    public DataTheoryAttribute()
    {
        if (RealData.PathOrNull is null) Skip = RealData.SkipReason;
    }
}

/// <summary>The one test that fails without the data set, saying where to put it.</summary>
public class RealDataFileTests
{
    [Fact]
    public void NamesTxtIsInPlace() => Assert.True(RealData.PathOrNull is not null, RealData.MissingMessage);
}
