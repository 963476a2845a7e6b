using System.Security.Cryptography;
using ManualVsAuto.Data;

namespace ManualVsAuto.Training;

/// <summary>The names file, its lecture split and its sha256 (a checkpoint remembers which data it was trained on).</summary>
public sealed record TrainingData(string Path, string Sha256, DataSplit Split)
{
    /// <param name="blockSize">The context length of the model to train (see <see cref="TrainingSettings.BlockSize"/>).</param>
    public static TrainingData Load(string? explicitPath, TextWriter status, int blockSize = Dataset.LectureBlockSize)
    {
        string path = DataLocator.Resolve(explicitPath, status);
        var bytes = NamesFile.ReadBytes(path); // read once: hashed, then parsed
        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var split = Dataset.Split(NamesFile.Parse(bytes, path), blockSize);
        split.Train.Pack(); // minibatches are drawn from it millions of times
        return new TrainingData(path, sha, split);
    }

    /// <summary>Fails unless this is the data the checkpoint was trained on.</summary>
    public void EnsureMatches(Checkpoint c, string checkpointPath)
    {
        if (c.DataSha256 != Sha256)
            throw new CheckpointException(
                $"{checkpointPath} was trained on a names file with sha256 {c.DataSha256}, but {Path} has {Sha256}; pass the same data with --data.");
    }
}
