using ManualVsAuto.Data;

namespace ManualVsAuto.Cli;

/// <summary>The smallest names file each command accepts, checked before any work, in one line.</summary>
public static class DataSize
{
    /// <summary>check and sample's calibration draw from the training split: it needs one name.</summary>
    public static void EnsureTraining(string command, IReadOnlyCollection<string> names, string path) =>
        Ensure(command, names.Count, path, train: 1, dev: 0, "at least one name in the training split (80%)");

    /// <summary>train also reports the validation loss: it needs one name in each of the two splits.</summary>
    public static void EnsureTrainingAndValidation(string command, IReadOnlyCollection<string> names, string path) =>
        Ensure(command, names.Count, path, train: 1, dev: 1, "at least one name in the training split (80%) and one in the validation split (10%)");

    private static void Ensure(string command, int count, string path, int train, int dev, string why)
    {
        var (t, d) = SplitSizes.Of(count);
        if (t >= train && d >= dev) return;
        int smallest = SplitSizes.Smallest(train, dev);
        throw new UserInputException(
            $"{path} has {count} name{(count == 1 ? "" : "s")}, which the lecture's 80/10/10 split cuts into {t} for training and {d} for validation; " +
            $"{command} needs {why}, so at least {smallest} names.");
    }
}
