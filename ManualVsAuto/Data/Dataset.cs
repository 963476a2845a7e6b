using static TorchSharp.torch;

namespace ManualVsAuto.Data;

/// <summary>Contexts of <c>blockSize</c> previous characters (X) and the next character (Y).</summary>
public sealed record Examples(Tensor X, Tensor Y)
{
    public long Count => Y.shape[0];
}

/// <summary>The lecture's 80/10/10 split of the shuffled words.</summary>
public sealed record DataSplit(IReadOnlyList<string> ShuffledWords, Examples Train, Examples Dev, Examples Test);

public static class Dataset
{
    public const int LectureBlockSize = 3;
    public const int LectureShuffleSeed = 42;

    /// <summary>The lecture's build_dataset: a sliding window over ".." + word + ".".</summary>
    public static Examples Build(IEnumerable<string> words, int blockSize = LectureBlockSize)
    {
        var xs = new List<long>();
        var ys = new List<long>();
        var context = new int[blockSize];
        foreach (var w in words)
        {
            Array.Clear(context);
            foreach (char ch in w + Vocabulary.EndToken)
            {
                int ix = Vocabulary.ToIndex(ch);
                foreach (var c in context) xs.Add(c);
                ys.Add(ix);
                Array.Copy(context, 1, context, 0, blockSize - 1);
                context[blockSize - 1] = ix;
            }
        }
        return new Examples(
            tensor(xs.ToArray(), new long[] { ys.Count, blockSize }, ScalarType.Int64),
            tensor(ys.ToArray(), ScalarType.Int64));
    }

    /// <summary><c>random.seed(42); random.shuffle(words)</c>, then n1 = int(0.8n), n2 = int(0.9n).</summary>
    public static DataSplit Split(IReadOnlyList<string> words, int blockSize = LectureBlockSize, long seed = LectureShuffleSeed)
    {
        var shuffled = words.ToList();
        new PythonRandom(seed).Shuffle(shuffled);
        var (n1, n2) = SplitSizes.Bounds(shuffled.Count);
        return new DataSplit(
            shuffled,
            Build(shuffled.Take(n1), blockSize),
            Build(shuffled.Skip(n1).Take(n2 - n1), blockSize),
            Build(shuffled.Skip(n2), blockSize));
    }
}
