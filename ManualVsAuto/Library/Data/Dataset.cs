namespace ManualVsAuto.Data;

/// <summary>The lecture's 80/10/10 split of the shuffled names: <see cref="Order"/> indexes <see cref="Names"/>.</summary>
public sealed record DataSplit(NameList Names, int[] Order, Examples Train, Examples Dev, Examples Test)
{
    public IEnumerable<string> ShuffledWords => Order.Select(i => Names[i]);
}

public static class Dataset
{
    public const int LectureBlockSize = 3;
    public const int LectureShuffleSeed = 42;

    /// <summary>The lecture's build_dataset: a sliding window over ".." + word + ".".</summary>
    public static Examples Build(IEnumerable<string> words, int blockSize = LectureBlockSize)
    {
        var names = NameList.From(words);
        return new Examples(names, Enumerable.Range(0, names.Count).ToArray(), blockSize);
    }

    /// <summary><c>random.seed(42); random.shuffle(words)</c>, then n1 = int(0.8n), n2 = int(0.9n). The shuffle
    /// permutes name indices: it draws exactly what shuffling the words draws.</summary>
    public static DataSplit Split(NameList names, int blockSize = LectureBlockSize, long seed = LectureShuffleSeed)
    {
        var order = new int[names.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        new PythonRandom(seed).Shuffle(order);
        var (n1, n2) = SplitSizes.Bounds(order.Length);
        return new DataSplit(names, order,
            new Examples(names, order[..n1], blockSize),
            new Examples(names, order[n1..n2], blockSize),
            new Examples(names, order[n2..], blockSize));
    }

    public static DataSplit Split(IReadOnlyList<string> words, int blockSize = LectureBlockSize, long seed = LectureShuffleSeed) =>
        Split(words as NameList ?? NameList.From(words), blockSize, seed);
}
