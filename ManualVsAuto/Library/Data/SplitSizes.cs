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

    /// <summary>
    /// Why a file of <paramref name="count"/> names is too small for <paramref name="command"/>, in one line, or null
    /// when the split gives it at least <paramref name="train"/> training and <paramref name="dev"/> validation names.
    /// </summary>
    /// <param name="why">What the command needs, e.g. "at least one name in the training split (80%)".</param>
    public static string? TooFew(string path, int count, string command, int train, int dev, string why)
    {
        var (t, d) = Of(count);
        if (t >= train && d >= dev) return null;
        return $"{path} has {count} name{(count == 1 ? "" : "s")}, which the lecture's 80/10/10 split cuts into {t} for training and {d} for validation; " +
               $"{command} needs {why}, so at least {Smallest(train, dev)} names.";
    }
}
