using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace ManualVsAuto.Data;

/// <summary>
/// Downloads the makemore names file (<see cref="Url"/>), checks its sha256 and writes it atomically:
/// the bytes go to a temporary file in the target's folder which is renamed onto the target only once
/// the checksum matches. A failed, partial or wrong download leaves nothing behind, and an existing
/// file is never overwritten. Every failure is a <see cref="DataException"/> with a one-line message
/// that says where to put the file by hand and where to get it.
/// </summary>
public sealed class NamesDownloader
{
    public const string Url = "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt";

    /// <summary>sha256 (lower-case hex) of the file at <see cref="Url"/>.</summary>
    public const string Sha256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d";

    /// <summary>Number of names in the file at <see cref="Url"/>.</summary>
    public const int ExpectedNameCount = 32033;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private const int BufferSize = 16 * 1024;

    private readonly HttpMessageHandler? _handler;
    private readonly TimeSpan _timeout;
    private readonly string _url;
    private readonly string _expectedSha256;

    /// <param name="handler">HTTP handler to use (tests inject a fake); null uses a default one. Not disposed.</param>
    /// <param name="timeout">Limit for the whole download (connect, headers and body); default 30 s.</param>
    /// <param name="url">Where to download from; default <see cref="Url"/>.</param>
    /// <param name="expectedSha256">Checksum the body must have (hex, any case); default <see cref="Sha256"/>.</param>
    public NamesDownloader(HttpMessageHandler? handler = null, TimeSpan? timeout = null, string url = Url, string expectedSha256 = Sha256)
    {
        _handler = handler;
        _timeout = timeout ?? DefaultTimeout;
        _url = url;
        _expectedSha256 = expectedSha256.ToLowerInvariant();
    }

    /// <summary>Downloads to <paramref name="targetPath"/> (the folder is created if needed) and returns its full path.</summary>
    public string Download(string targetPath, TextWriter status) =>
        DownloadAsync(targetPath, status).GetAwaiter().GetResult();

    /// <inheritdoc cref="Download"/>
    public async Task<string> DownloadAsync(string targetPath, TextWriter status, CancellationToken cancellationToken = default)
    {
        string target = Path.GetFullPath(targetPath);
        if (File.Exists(target) || Directory.Exists(target))
            throw new DataException($"{target} already exists; not overwriting it with a download. Delete it or pass --data PATH.");

        string dir = Path.GetDirectoryName(target)!;
        bool createdDir = false;
        string? temp = null;
        try
        {
            if (!Directory.Exists(dir))
            {
                try { Directory.CreateDirectory(dir); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw WriteFailure(target, e);
                }
                createdDir = true;
            }
            temp = Path.Combine(dir, $"{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");

            status.WriteLine($"Downloading names.txt from {_url}");
            string actual = await DownloadToAsync(temp, target, status, cancellationToken).ConfigureAwait(false);
            if (actual != _expectedSha256)
                throw new DataException(
                    $"downloaded names.txt has sha256 {actual}, expected {_expectedSha256}; not saved. " +
                    $"Put the file at {target} (from {_url}) or pass --data PATH.");

            try
            {
                File.Move(temp, target, overwrite: false);
            }
            catch (IOException) when (File.Exists(target))
            {
                throw new DataException($"{target} appeared while downloading; not overwriting it. Run again to use it, or pass --data PATH.");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw WriteFailure(target, e);
            }
            temp = null;
            status.WriteLine($"Saved {target} (sha256 verified).");
            return target;
        }
        finally
        {
            if (temp is not null) TryDelete(temp);
            if (createdDir && temp is not null) TryDeleteEmptyDirectory(dir);
        }
    }

    /// <summary>Streams the body into <paramref name="temp"/> and returns its sha256 (lower-case hex).</summary>
    private async Task<string> DownloadToAsync(string temp, string target, TextWriter status, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_timeout);
        var ct = timeout.Token;

        using var client = _handler is null ? new HttpClient() : new HttpClient(_handler, disposeHandler: false);
        client.Timeout = Timeout.InfiniteTimeSpan; // the linked token above covers the body too
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("ManualVsAuto", "1.0"));

        FileStream file;
        try
        {
            file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw WriteFailure(target, e);
        }

        await using (file.ConfigureAwait(false))
        {
            try
            {
                using var response = await client.GetAsync(_url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                    throw DownloadFailure(target, $"the server answered {(int)response.StatusCode} {response.ReasonPhrase}");

                long? length = response.Content.Headers.ContentLength;
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    var buffer = new byte[BufferSize];
                    long total = 0;
                    int nextQuarter = 1;
                    long nextUnknownReport = 64 * 1024;
                    while (true)
                    {
                        int n = await body.ReadAsync(buffer, ct).ConfigureAwait(false);
                        if (n == 0) break;
                        hash.AppendData(buffer, 0, n);
                        try
                        {
                            await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                        {
                            throw WriteFailure(target, e);
                        }
                        total += n;
                        if (length is > 0)
                        {
                            bool reported = false;
                            while (nextQuarter <= 4 && total * 4 >= length.Value * nextQuarter)
                            {
                                nextQuarter++;
                                reported = true;
                            }
                            if (reported)
                                status.WriteLine($"  {Bytes(total)} / {Bytes(length.Value)} bytes ({100 * total / length.Value}%)");
                        }
                        else if (total >= nextUnknownReport)
                        {
                            status.WriteLine($"  {Bytes(total)} bytes");
                            nextUnknownReport += 64 * 1024;
                        }
                    }
                    if (length is { } expected && total != expected)
                        throw DownloadFailure(target, $"the connection ended after {Bytes(total)} of {Bytes(expected)} bytes");
                    if (length is not > 0)
                        status.WriteLine($"  {Bytes(total)} bytes");
                }

                try
                {
                    file.Flush(flushToDisk: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw WriteFailure(target, e);
                }
                return Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw DownloadFailure(target, $"no complete answer within {_timeout.TotalSeconds:0.#} s");
            }
            catch (HttpRequestException e)
            {
                throw DownloadFailure(target, OneLine(e.Message));
            }
            catch (IOException e) // the connection broke while reading the body
            {
                throw DownloadFailure(target, OneLine(e.Message));
            }
        }
    }

    private DataException DownloadFailure(string target, string reason) =>
        new($"could not download names.txt ({reason}). Put the file at {target} (from {_url}) or pass --data PATH.");

    private DataException WriteFailure(string target, Exception e) =>
        new($"could not save the download to {target} ({OneLine(e.Message)}). Put the file there yourself (from {_url}) or pass --data PATH.", e);

    private static string OneLine(string s) => string.Join(' ', s.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).TrimEnd('.');

    private static string Bytes(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static void TryDeleteEmptyDirectory(string dir)
    {
        try
        {
            if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any()) Directory.Delete(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
