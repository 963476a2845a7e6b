using ManualVsAuto.Data;

namespace ManualVsAuto.Cli;

/// <summary>The smallest names file each command accepts, checked before any work, in one line.</summary>
public static class MinimumNames
{
    /// <summary>check and sample's calibration draw from the training split: it needs one name.</summary>
    public static void EnsureTraining(string command, IReadOnlyCollection<string> names, string path) =>
        Ensure(command, names.Count, path, train: 1, dev: 0, "at least one name in the training split (80%)");

    /// <summary>train also reports the validation loss: it needs one name in each of the two splits.</summary>
    public static void EnsureTrainingAndValidation(string command, IReadOnlyCollection<string> names, string path) =>
        Ensure(command, names.Count, path, train: 1, dev: 1, "at least one name in the training split (80%) and one in the validation split (10%)");

    private static void Ensure(string command, int count, string path, int train, int dev, string why)
    {
        if (SplitSizes.TooFew(path, count, command, train, dev, why) is { } message) throw new UserInputException(message);
    }
}
