using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using ManualVsAuto.Data;
using Xunit.Sdk;

namespace ManualVsAuto.Tests;

/// <summary>An HTTP handler answering from a delegate, so no test touches the network.</summary>
internal sealed class FakeHandler(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer) : HttpMessageHandler
{
    public int Calls { get; private set; }
    public Uri? LastUri { get; private set; }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Calls++;
        LastUri = request.RequestUri;
        return answer(request, cancellationToken);
    }

    public static FakeHandler Returning(byte[] body, HttpStatusCode code = HttpStatusCode.OK) =>
        new((_, _) => Task.FromResult(new HttpResponseMessage(code) { Content = new ByteArrayContent(body) }));

    public static FakeHandler Throwing(Exception e) => new((_, _) => Task.FromException<HttpResponseMessage>(e));
}

/// <summary>A body that yields some bytes and then breaks, like a dropped connection.</summary>
internal sealed class BreakingStream(byte[] first) : Stream
{
    private int _pos;
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override int Read(byte[] buffer, int offset, int count)
    {
        if (_pos >= first.Length) throw new IOException("Connection reset by peer.");
        int n = Math.Min(count, first.Length - _pos);
        Array.Copy(first, _pos, buffer, offset, n);
        _pos += n;
        return n;
    }
}

public sealed class DataLocatorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mva-locator-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly Func<string, TextWriter, string> NoDownload =
        (target, _) => throw new XunitException($"unexpected download to {target}");

    /// <summary>A fake repository: root with ManualVsAuto.sln, optionally data/names.txt, and a nested folder.</summary>
    private (string Repo, string Nested) MakeRepo(string name, bool withData)
    {
        string repo = Path.Combine(_root, name);
        string nested = Path.Combine(repo, "ManualVsAuto.Tests", "bin", "Debug", "net10.0");
        Directory.CreateDirectory(nested);
        File.WriteAllText(Path.Combine(repo, DataLocator.SolutionFileName), "");
        if (withData)
        {
            Directory.CreateDirectory(Path.Combine(repo, "data"));
            File.WriteAllText(Path.Combine(repo, "data", "names.txt"), "emma\n");
        }
        return (repo, nested);
    }

    [Fact]
    public void ExplicitPath_Missing_IsAnErrorNamingThePath_AndNothingIsDownloaded()
    {
        var (repo, nested) = MakeRepo("r", withData: true);
        string missing = Path.Combine(_root, "no", "such.txt");
        var e = Assert.Throws<DataException>(() => DataLocator.Resolve(missing, TextWriter.Null, nested, nested, NoDownload));
        Assert.Equal($"{missing}: file not found.", e.Message);
        Assert.False(File.Exists(missing));
        Assert.True(File.Exists(Path.Combine(repo, "data", "names.txt")));
    }

    [Fact]
    public void ExplicitRelativePath_Missing_NamesThePathAsGivenAndInFull()
    {
        var e = Assert.Throws<DataException>(() => DataLocator.Resolve("my/names.txt", TextWriter.Null, _root, null, NoDownload));
        Assert.Contains("my/names.txt", e.Message);
        Assert.Contains(Path.Combine(_root, "my", "names.txt"), e.Message);
        Assert.EndsWith("file not found.", e.Message);
    }

    [Fact]
    public void ExplicitPath_Directory_IsAnError()
    {
        var e = Assert.Throws<DataException>(() => DataLocator.Resolve(_root, TextWriter.Null, _root, null, NoDownload));
        Assert.Contains("directory", e.Message);
    }

    [Fact]
    public void ExplicitPath_WinsOverTheRepositoryFile()
    {
        var (_, nested) = MakeRepo("r", withData: true);
        string mine = Path.Combine(_root, "mine.txt");
        File.WriteAllText(mine, "ava\n");
        Assert.Equal(mine, DataLocator.Resolve(mine, TextWriter.Null, nested, nested, NoDownload));
    }

    [Fact]
    public void ExplicitRelativePath_IsResolvedAgainstTheCurrentDirectory()
    {
        File.WriteAllText(Path.Combine(_root, "mine.txt"), "ava\n");
        Assert.Equal(Path.Combine(_root, "mine.txt"), DataLocator.Resolve("mine.txt", TextWriter.Null, _root, null, NoDownload));
    }

    [Fact]
    public void FindsDataNamesTxt_WalkingUpFromANestedDirectory()
    {
        var (repo, nested) = MakeRepo("r", withData: true);
        Assert.Equal(repo, DataLocator.FindRepositoryRoot(nested));
        Assert.Equal(Path.Combine(repo, "data", "names.txt"), DataLocator.Resolve(null, TextWriter.Null, nested, null, NoDownload));
    }

    [Fact]
    public void FallsBackToTheProgramsOwnLocation()
    {
        var (repo, nested) = MakeRepo("r", withData: true);
        string elsewhere = Directory.CreateDirectory(Path.Combine(_root, "elsewhere")).FullName;
        Assert.Equal(Path.Combine(repo, "data", "names.txt"), DataLocator.Resolve(null, TextWriter.Null, elsewhere, nested, NoDownload));
    }

    [Fact]
    public void CurrentDirectoryRepository_ComesFirst()
    {
        var (repoA, nestedA) = MakeRepo("a", withData: true);
        var (_, nestedB) = MakeRepo("b", withData: true);
        Assert.Equal(Path.Combine(repoA, "data", "names.txt"), DataLocator.Resolve(null, TextWriter.Null, nestedA, nestedB, NoDownload));
    }

    [Fact]
    public void RepositoryWithoutData_FromCurrentDirectory_FallsThroughToProgramLocation()
    {
        var (_, nestedA) = MakeRepo("a", withData: false);
        var (repoB, nestedB) = MakeRepo("b", withData: true);
        Assert.Equal(Path.Combine(repoB, "data", "names.txt"), DataLocator.Resolve(null, TextWriter.Null, nestedA, nestedB, NoDownload));
    }

    [Fact]
    public void NoRepository_UsesDataNamesTxtOfTheCurrentDirectory()
    {
        Directory.CreateDirectory(Path.Combine(_root, "data"));
        File.WriteAllText(Path.Combine(_root, "data", "names.txt"), "emma\n");
        Assert.Null(DataLocator.FindRepositoryRoot(_root));
        Assert.Equal(Path.Combine(_root, "data", "names.txt"), DataLocator.Resolve(null, TextWriter.Null, _root, null, NoDownload));
    }

    [Fact]
    public void NothingFound_DownloadsIntoTheRepositoryFoundFromTheCurrentDirectory()
    {
        var (repoA, nestedA) = MakeRepo("a", withData: false);
        var (_, nestedB) = MakeRepo("b", withData: false);
        string? asked = null;
        string got = DataLocator.Resolve(null, TextWriter.Null, nestedA, nestedB, (target, _) => asked = target);
        Assert.Equal(Path.Combine(repoA, "data", "names.txt"), asked);
        Assert.Equal(asked, got);
    }

    [Fact]
    public void NothingFound_NoRepository_DownloadsIntoTheCurrentDirectory()
    {
        string? asked = null;
        DataLocator.Resolve(null, TextWriter.Null, _root, null, (target, _) => asked = target);
        Assert.Equal(Path.Combine(_root, "data", "names.txt"), asked);
    }

    [Fact]
    public void NothingFound_DownloadsWithTheFakeHandler_ThroughResolve()
    {
        var (repo, nested) = MakeRepo("r", withData: false);
        byte[] body = "emma\nava\n"u8.ToArray();
        var handler = FakeHandler.Returning(body);
        var status = new StringWriter();
        string got = DataLocator.Resolve(null, status, nested, null,
            (target, w) => new NamesDownloader(handler, expectedSha256: Hex(body)).Download(target, w));
        Assert.Equal(Path.Combine(repo, "data", "names.txt"), got);
        Assert.Equal(body, File.ReadAllBytes(got));
        Assert.Equal(1, handler.Calls);
        Assert.Contains(NamesDownloader.Url, status.ToString());
    }

    [Fact]
    public void ExistingFile_IsNeverDownloadedAgain()
    {
        var (repo, nested) = MakeRepo("r", withData: true);
        var handler = FakeHandler.Returning("zzz\n"u8.ToArray());
        string got = DataLocator.Resolve(null, TextWriter.Null, nested, null,
            (target, w) => new NamesDownloader(handler).Download(target, w));
        Assert.Equal(0, handler.Calls);
        Assert.Equal("emma\n", File.ReadAllText(got));
        Assert.Equal(Path.Combine(repo, "data", "names.txt"), got);
    }

    [Fact]
    public void TheRealRepository_IsFoundFromTheTestBinFolder()
    {
        string? root = DataLocator.FindRepositoryRoot(AppContext.BaseDirectory);
        Assert.NotNull(root);
        Assert.True(File.Exists(Path.Combine(root, DataLocator.SolutionFileName)));
    }

    internal static string Hex(byte[] body) => Convert.ToHexStringLower(SHA256.HashData(body));
}

public sealed class DataDownloaderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mva-download-").FullName;
    private string Target => Path.Combine(_root, "data", "names.txt");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly byte[] Body = Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Repeat("emma\nolivia\nava", 2000)));

    private void AssertNothingLeftBehind()
    {
        Assert.False(File.Exists(Target));
        string dir = Path.GetDirectoryName(Target)!;
        if (Directory.Exists(dir)) Assert.Empty(Directory.EnumerateFileSystemEntries(dir));
    }

    [Fact]
    public void Constants_AreTheMakemoreFile()
    {
        Assert.Equal("https://raw.githubusercontent.com/karpathy/makemore/master/names.txt", NamesDownloader.Url);
        Assert.Equal("0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d", NamesDownloader.Sha256);
        Assert.Equal(32033, NamesDownloader.ExpectedNameCount);
        Assert.Equal(TimeSpan.FromSeconds(30), NamesDownloader.DefaultTimeout);
    }

    [Fact]
    public void Success_WritesTheFile_WithNoTempFileLeft_AndShowsProgress()
    {
        var handler = FakeHandler.Returning(Body);
        var status = new StringWriter();
        string got = new NamesDownloader(handler, expectedSha256: DataLocatorTests.Hex(Body)).Download(Target, status);

        Assert.Equal(Target, got);
        Assert.Equal(Body, File.ReadAllBytes(Target));
        Assert.Equal([Target], Directory.GetFiles(Path.GetDirectoryName(Target)!));
        Assert.Equal(new Uri(NamesDownloader.Url), handler.LastUri);
        string log = status.ToString();
        Assert.Contains(NamesDownloader.Url, log);
        Assert.Contains("100%", log);
        Assert.Contains(Body.Length.ToString("N0", CultureInfo.InvariantCulture), log);
        Assert.Contains("sha256 verified", log);
    }

    [DataFact]
    public void Success_WithTheRealContentAndTheDefaultChecksum()
    {
        // The genuine bytes, so the default expected sha256 is exercised; the fixture's file is the repository's data/names.txt.
        string real = RealDataFixture.FindPath();
        byte[] body = File.ReadAllBytes(real);
        string got = new NamesDownloader(FakeHandler.Returning(body)).Download(Target, TextWriter.Null);
        Assert.Equal(body, File.ReadAllBytes(got));
        Assert.Equal(NamesDownloader.ExpectedNameCount, NamesFile.Load(got).Count);
    }

    [Fact]
    public void WrongChecksum_IsADataException_AndLeavesNothingBehind()
    {
        var e = Assert.Throws<DataException>(() => new NamesDownloader(FakeHandler.Returning(Body)).Download(Target, TextWriter.Null));
        Assert.Contains("sha256", e.Message);
        Assert.Contains(NamesDownloader.Sha256, e.Message);
        Assert.Contains(DataLocatorTests.Hex(Body), e.Message);
        Assert.Contains(Target, e.Message);
        Assert.Contains(NamesDownloader.Url, e.Message);
        AssertNothingLeftBehind();
        Assert.False(Directory.Exists(Path.GetDirectoryName(Target)), "the data folder the download created is removed again");
    }

    [Fact]
    public void NetworkFailure_IsADataException_NamingTargetAndUrl_AndLeavesNothingBehind()
    {
        var handler = FakeHandler.Throwing(new HttpRequestException("Name or service not known (raw.githubusercontent.com:443)"));
        var e = Assert.Throws<DataException>(() => new NamesDownloader(handler).Download(Target, TextWriter.Null));
        Assert.StartsWith("could not download names.txt (Name or service not known", e.Message);
        Assert.Contains($"Put the file at {Target} (from {NamesDownloader.Url})", e.Message);
        Assert.Contains("--data", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        AssertNothingLeftBehind();
    }

    [Fact]
    public void NetworkFailure_LeavesAnExistingDataFolderAndItsOtherFilesAlone()
    {
        string dir = Directory.CreateDirectory(Path.GetDirectoryName(Target)!).FullName;
        File.WriteAllText(Path.Combine(dir, "README.md"), "hi");
        var handler = FakeHandler.Throwing(new HttpRequestException("offline"));
        Assert.Throws<DataException>(() => new NamesDownloader(handler).Download(Target, TextWriter.Null));
        Assert.Equal([Path.Combine(dir, "README.md")], Directory.GetFiles(dir));
    }

    [Fact]
    public void Timeout_IsADataException_NamingTargetAndUrl()
    {
        var handler = new FakeHandler(async (_, ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return new HttpResponseMessage(HttpStatusCode.OK);
        });
        var e = Assert.Throws<DataException>(() =>
            new NamesDownloader(handler, timeout: TimeSpan.FromMilliseconds(50)).Download(Target, TextWriter.Null));
        Assert.Contains("within", e.Message);
        Assert.Contains(Target, e.Message);
        Assert.Contains(NamesDownloader.Url, e.Message);
        AssertNothingLeftBehind();
    }

    [Fact]
    public void TaskCanceledFromTheHandler_IsADataException()
    {
        var handler = FakeHandler.Throwing(new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout"));
        var e = Assert.Throws<DataException>(() => new NamesDownloader(handler).Download(Target, TextWriter.Null));
        Assert.Contains(Target, e.Message);
        Assert.Contains(NamesDownloader.Url, e.Message);
        AssertNothingLeftBehind();
    }

    [Fact]
    public void ConnectionBrokenMidBody_IsADataException_AndLeavesNothingBehind()
    {
        var handler = new FakeHandler((_, _) => Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StreamContent(new BreakingStream(Body.Take(40_000).ToArray())),
        }));
        var e = Assert.Throws<DataException>(() =>
            new NamesDownloader(handler, expectedSha256: DataLocatorTests.Hex(Body)).Download(Target, TextWriter.Null));
        Assert.Contains("Connection reset", e.Message);
        Assert.Contains(Target, e.Message);
        AssertNothingLeftBehind();
    }

    [Fact]
    public void HttpErrorStatus_IsADataException()
    {
        var handler = FakeHandler.Returning("nope"u8.ToArray(), HttpStatusCode.NotFound);
        var e = Assert.Throws<DataException>(() => new NamesDownloader(handler).Download(Target, TextWriter.Null));
        Assert.Contains("404", e.Message);
        Assert.Contains(Target, e.Message);
        Assert.Contains(NamesDownloader.Url, e.Message);
        AssertNothingLeftBehind();
    }

    [Fact]
    public void ExistingFile_IsNeverOverwritten()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Target)!);
        File.WriteAllText(Target, "old\n");
        var handler = FakeHandler.Returning(Body);
        var e = Assert.Throws<DataException>(() =>
            new NamesDownloader(handler, expectedSha256: DataLocatorTests.Hex(Body)).Download(Target, TextWriter.Null));
        Assert.Contains(Target, e.Message);
        Assert.Equal("old\n", File.ReadAllText(Target));
        Assert.Equal(0, handler.Calls);
        Assert.Equal([Target], Directory.GetFiles(Path.GetDirectoryName(Target)!));
    }

    [Fact]
    public void FileAppearingDuringTheDownload_IsNotOverwritten()
    {
        var handler = new FakeHandler((_, _) =>
        {
            File.WriteAllText(Target, "someone else's\n"); // e.g. a second process finished first
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Body) });
        });
        var e = Assert.Throws<DataException>(() =>
            new NamesDownloader(handler, expectedSha256: DataLocatorTests.Hex(Body)).Download(Target, TextWriter.Null));
        Assert.Contains(Target, e.Message);
        Assert.Equal("someone else's\n", File.ReadAllText(Target));
        Assert.Equal([Target], Directory.GetFiles(Path.GetDirectoryName(Target)!));
    }
}
