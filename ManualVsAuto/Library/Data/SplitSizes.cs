namespace ManualVsAuto.Data;

/// <summary>The lecture's 80/10/10 split by name count: n1 = int(0.8n), n2 = int(0.9n).</summary>
public static class SplitSizes
{
    public static (int N1, int N2) Bounds(int count) => ((int)(0.8 * count), (int)(0.9 * count));

    /// <summary>Names in the training and the validation (dev) split for a file of <paramref name="count"/> names.</summary>
    public static (int Train, int Dev) Of(int count)
    {
        var (n1, n2) = Bounds(count);
        return (n1, n2 - n1);
    }

    /// <summary>The fewest names for which the split gives at least this many training and validation names.</summary>
    public static int Smallest(int train, int dev)
    {
        int n = 1;
        while (Of(n).Train < train || Of(n).Dev < dev) n++;
        return n;
    }
}
