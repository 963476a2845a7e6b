using System.Security.Cryptography;
using System.Text;
using ManualVsAuto.Data;

namespace ManualVsAuto.Tests;

public class DataVocabularyTests
{
    [Fact]
    public void EndToken_IsZero_AndLettersAreOneToTwentySix()
    {
        Assert.Equal(27, Vocabulary.Size);
        Assert.Equal(0, Vocabulary.ToIndex('.'));
        Assert.Equal(1, Vocabulary.ToIndex('a'));
        Assert.Equal(5, Vocabulary.ToIndex('e'));
        Assert.Equal(26, Vocabulary.ToIndex('z'));
        Assert.Equal('.', Vocabulary.ToChar(0));
        Assert.Equal('a', Vocabulary.ToChar(1));
        Assert.Equal('z', Vocabulary.ToChar(26));
    }

    [Fact]
    public void EveryIndex_RoundTrips()
    {
        for (int i = 0; i < Vocabulary.Size; i++) Assert.Equal(i, Vocabulary.ToIndex(Vocabulary.ToChar(i)));
        foreach (char c in ".abcdefghijklmnopqrstuvwxyz") Assert.Equal(c, Vocabulary.ToChar(Vocabulary.ToIndex(c)));
    }

    [Fact]
    public void IsNameChar_OnlyLowercaseAsciiLetters()
    {
        Assert.All("abcdefghijklmnopqrstuvwxyz", c => Assert.True(Vocabulary.IsNameChar(c)));
        Assert.All(".A Z0é-\t", c => Assert.False(Vocabulary.IsNameChar(c)));
    }
}

public class DataBuildTests
{
    [Fact]
    public void Emma_GivesTheLecturesFiveContexts()
    {
        var ex = Dataset.Build(["emma"]);
        Assert.Equal(5, ex.Count);
        var (X, Y) = ex.ToTensors();
        Assert.Equal(new long[] { 5, 3 }, X.shape);

        var x = X.data<long>().ToArray();
        var y = Y.data<long>().ToArray();
        var shown = Enumerable.Range(0, 5)
            .Select(i => $"{Chars(x.Skip(3 * i).Take(3))} ---> {Vocabulary.ToChar((int)y[i])}")
            .ToArray();
        Assert.Equal(["... ---> e", "..e ---> m", ".em ---> m", "emm ---> a", "mma ---> ."], shown);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 5, 0, 5, 13, 5, 13, 13, 13, 13, 1 }, x);
        Assert.Equal(new long[] { 5, 13, 13, 1, 0 }, y);
    }

    [Fact]
    public void ContextRestartsForEveryWord()
    {
        var (X, Y) = Dataset.Build(["ab", "c"]).ToTensors();
        var x = X.data<long>().ToArray();
        var y = Y.data<long>().ToArray();
        // ab: ...->a, ..a->b, .ab->.   c: ...->c, ..c->.
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 1, 0, 1, 2, 0, 0, 0, 0, 0, 3 }, x);
        Assert.Equal(new long[] { 1, 2, 0, 3, 0 }, y);
    }

    private static string Chars(IEnumerable<long> ixs) => new(ixs.Select(i => Vocabulary.ToChar((int)i)).ToArray());
}

/// <summary>Loads the real names file once, found the way the program finds it (but never downloaded).</summary>
public sealed class RealDataFixture
{
    public string Path { get; }
    public IReadOnlyList<string> Names { get; }
    public DataSplit Split { get; }

    public RealDataFixture()
    {
        Path = FindPath();
        Names = NamesFile.Load(Path);
        Split = Dataset.Split(Names);
    }

    /// <summary>The repository's data/names.txt (never downloaded; see <see cref="RealData"/>).</summary>
    public static string FindPath() => RealData.Path;
}

public class RealDataTests(RealDataFixture data) : IClassFixture<RealDataFixture>
{
    [DataFact]
    public void File_HasTheKnownSha256()
    {
        using var stream = File.OpenRead(data.Path);
        Assert.Equal(NamesDownloader.Sha256, Convert.ToHexStringLower(SHA256.HashData(stream)));
    }

    [DataFact]
    public void File_Has32033Names()
    {
        Assert.Equal(NamesDownloader.ExpectedNameCount, data.Names.Count);
        Assert.Equal(32033, data.Names.Count);
        Assert.Equal(["emma", "olivia", "ava"], data.Names.Take(3));
    }

    [DataFact]
    public void Shuffle_MatchesPythonsRandomSeed42()
    {
        Assert.Equal(["yuheng", "diondre", "xavien", "jori", "juanluis"], data.Split.ShuffledWords.Take(5));
        Assert.Equal(data.Names.Order(StringComparer.Ordinal), data.Split.ShuffledWords.Order(StringComparer.Ordinal));
    }

    [DataFact]
    public void Split_HasTheLecturesExampleCounts()
    {
        Assert.Equal(182625, data.Split.Train.Count);
        Assert.Equal(22655, data.Split.Dev.Count);
        Assert.Equal(22866, data.Split.Test.Count);
        Assert.Equal(new long[] { 182625, Dataset.LectureBlockSize }, data.Split.Train.ToTensors().X.shape);
    }
}

public sealed class DataNamesFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mva-names-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string text, bool bom = false)
    {
        string path = Path.Combine(_dir, $"names-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, text, new UTF8Encoding(bom));
        return path;
    }

    private string WriteBytes(byte[] bytes)
    {
        string path = Path.Combine(_dir, $"names-{Guid.NewGuid():N}.txt");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Dot_IsAnError_NamingFileLineColumnAndTheEndToken()
    {
        string path = Write("emma\nol.ivia\n");
        var e = Assert.Throws<DataException>(() => NamesFile.Load(path));
        Assert.StartsWith($"{path}:2:3:", e.Message);
        Assert.Contains("'.'", e.Message);
        Assert.Contains("end-of-name token", e.Message);
    }

    [Fact]
    public void Uppercase_IsAnError()
    {
        string path = Write("emma\nava\nOlivia\n");
        var e = Assert.Throws<DataException>(() => NamesFile.Load(path));
        Assert.StartsWith($"{path}:3:1:", e.Message);
        Assert.Contains("'O'", e.Message);
    }

    [Fact]
    public void Digit_IsAnError()
    {
        string path = Write("emma2\n");
        var e = Assert.Throws<DataException>(() => NamesFile.Load(path));
        Assert.StartsWith($"{path}:1:5:", e.Message);
        Assert.Contains("'2'", e.Message);
    }

    [Fact]
    public void InnerSpace_IsAnError()
    {
        string path = Write("anna maria\n");
        var e = Assert.Throws<DataException>(() => NamesFile.Load(path));
        Assert.StartsWith($"{path}:1:5:", e.Message);
    }

    [Fact]
    public void EmptyFile_IsAnError()
    {
        string path = Write("");
        var e = Assert.Throws<DataException>(() => NamesFile.Load(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains("no names", e.Message);
    }

    [Fact]
    public void BlankOnlyFile_IsAnError()
    {
        string path = Write("\n   \r\n\t\n\n");
        var e = Assert.Throws<DataException>(() => NamesFile.Load(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains("no names", e.Message);
    }

    [Fact]
    public void InvalidUtf8_IsAnError()
    {
        string path = WriteBytes([(byte)'e', 0xFF, (byte)'\n']);
        var e = Assert.Throws<DataException>(() => NamesFile.Load(path));
        Assert.StartsWith(path, e.Message);
        Assert.Contains("UTF-8", e.Message);
    }

    [Fact]
    public void AFileTooLargeForMemoryIsRefusedBeforeReading()
    {
        var e = Assert.Throws<DataException>(() => NamesFile.EnsureFits(1_000_000_000, available: 1_500_000_000, "big.txt"));
        Assert.StartsWith("big.txt: 1.0 GB is too large to load as a names file (it needs about 2.0 GB of memory, 1.5 GB is available)", e.Message);
        NamesFile.EnsureFits(228_145, available: 1_500_000_000, "names.txt"); // the real one fits
    }

    [Fact]
    public void MissingFile_IsAnError_NamingThePath()
    {
        string path = Path.Combine(_dir, "nope.txt");
        var e = Assert.Throws<DataException>(() => NamesFile.Load(path));
        Assert.Equal($"{path}: file not found.", e.Message);
    }

    [Fact]
    public void Crlf_IsTolerated() =>
        Assert.Equal(["emma", "olivia", "ava"], NamesFile.Load(Write("emma\r\nolivia\r\nava\r\n")));

    [Fact]
    public void Bom_IsSkipped() =>
        Assert.Equal(["emma", "olivia"], NamesFile.Load(Write("emma\nolivia\n", bom: true)));

    [Fact]
    public void TrailingNewline_OrNone_GivesTheSameNames()
    {
        Assert.Equal(["emma", "ava"], NamesFile.Load(Write("emma\nava\n")));
        Assert.Equal(["emma", "ava"], NamesFile.Load(Write("emma\nava")));
    }

    [Fact]
    public void BlankLinesInTheMiddle_AreSkipped() =>
        Assert.Equal(["emma", "olivia", "ava"], NamesFile.Load(Write("emma\n\n  \nolivia\r\n\r\n\t\nava\n\n")));

    [Fact]
    public void NonAsciiBlankLine_IsSkippedLikeAnAsciiOne() =>
        Assert.Equal(["emma", "ava"], NamesFile.Load(Write("emma\n\u00A0\u2003\nava\n")));

    [Fact]
    public void LineNumbersCountSkippedBlankLines()
    {
        string path = Write("\uFEFFemma\r\n\r\n\nzoë\r\n");
        var e = Assert.Throws<DataException>(() => NamesFile.Load(path));
        Assert.StartsWith($"{path}:4:3:", e.Message);
    }
}

/// <summary>Examples made on demand from the names agree with the lecture's build_dataset, row by row.</summary>
public class DataExamplesTests
{
    /// <summary>The lecture's build_dataset written out plainly: every context, in order.</summary>
    private static (long[] X, long[] Y) BuildDataset(IEnumerable<string> words, int blockSize)
    {
        var xs = new List<long>();
        var ys = new List<long>();
        foreach (var w in words)
        {
            var context = new long[blockSize];
            foreach (char ch in w + ".")
            {
                int ix = Vocabulary.ToIndex(ch);
                xs.AddRange(context);
                ys.Add(ix);
                context = [.. context[1..], ix];
            }
        }
        return (xs.ToArray(), ys.ToArray());
    }

    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    [InlineData(8)]
    public void GatherAndSliceGiveTheRowsOfBuildDataset(int blockSize)
    {
        string[] words = ["emma", "a", "olivia", "zz", "ava", "x", "isabella"];
        var (x, y) = BuildDataset(words, blockSize);
        var ex = Dataset.Build(words, blockSize);
        Assert.Equal(y.Length, ex.Count);
        var rng = new Random(7);
        long[] rows = [0, y.Length - 1, .. Enumerable.Range(0, 50).Select(_ => (long)rng.Next(y.Length))];
        var (X, Y) = ex.Gather(rows);
        Assert.Equal(rows.SelectMany(r => x.Skip((int)r * blockSize).Take(blockSize)), X.data<long>().ToArray());
        Assert.Equal(rows.Select(r => y[r]), Y.data<long>().ToArray());

        var (Xs, Ys) = ex.Slice(4, 9);
        Assert.Equal(x.Skip(4 * blockSize).Take(9 * blockSize), Xs.data<long>().ToArray());
        Assert.Equal(y.Skip(4).Take(9), Ys.data<long>().ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => ex.Gather([y.Length]));
    }

    [Fact]
    public void TheSplitsRunThroughTheShuffledNamesInOrder()
    {
        var names = Enumerable.Range(0, 40).Select(i => new string((char)('a' + i % 26), 1 + i % 5)).ToList();
        var split = Dataset.Split(names);
        var shuffled = split.ShuffledWords.ToList();
        Assert.Equal(names.Order(StringComparer.Ordinal), shuffled.Order(StringComparer.Ordinal));
        var (x, y) = BuildDataset(shuffled.Take(32), 3);
        var (X, Y) = split.Train.ToTensors();
        Assert.Equal(x, X.data<long>().ToArray());
        Assert.Equal(y, Y.data<long>().ToArray());
        Assert.Equal(BuildDataset(shuffled.Skip(36), 3).Y, split.Test.ToTensors().Y.data<long>().ToArray());
    }
}

public class DataPackedExamplesTests
{
    /// <summary>Packing (what training does) changes how rows are found, not which rows come back.</summary>
    [Fact]
    public void PackedAndUnpackedExamplesGatherTheSameRows()
    {
        string[] words = ["emma", "a", "olivia", "zz", "ava", "x", "isabella", "mia"];
        var plain = Dataset.Build(words, 4);
        var packed = Dataset.Build(words, 4).Pack();
        var rng = new Random(3);
        long[] rows = [0, plain.Count - 1, .. Enumerable.Range(0, 60).Select(_ => rng.NextInt64(plain.Count))];
        var (Xp, Yp) = plain.Gather(rows);
        var (Xq, Yq) = packed.Gather(rows);
        Assert.Equal(Xp.data<long>().ToArray(), Xq.data<long>().ToArray());
        Assert.Equal(Yp.data<long>().ToArray(), Yq.data<long>().ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => packed.Gather([plain.Count]));
    }
}
