using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Model.Layers;
using static TorchSharp.torch;

namespace ManualVsAuto.Tests;

/// <summary>A third net, known to no production file: <c>Embedding → FlattenConsecutive(2) → Linear → Tanh → Linear</c>
/// over 2 characters. <see cref="ModelRegistryTests"/> registers it and runs every command on it.</summary>
public static class TinyNet
{
    public const int BlockSize = 2, NEmbd = 4;

    public static readonly ModelKind Entry = new()
    {
        Name = "tiny",
        Description = "a test's two-layer net",
        BlockSize = BlockSize,
        LectureSeed = 7,
        LectureNHidden = 8,
        LectureDecayStep = 30,
        Create = Create,
        ParameterCount = h => Vocabulary.Size * NEmbd + BlockSize * NEmbd * h + h + h * Vocabulary.Size + Vocabulary.Size,
        ActivationsPerExample = h => BlockSize * NEmbd + 2.0 * h + Vocabulary.Size,
    };

    public static Sequential Create(Generator g, int nHidden) => new(
    [
        new Embedding(Vocabulary.Size, NEmbd, g),
        new FlattenConsecutive(BlockSize),
        new Linear(BlockSize * NEmbd, nHidden, bias: true, g),
        new Tanh(),
        new Linear(nHidden, Vocabulary.Size, bias: true, g),
    ]);
}
