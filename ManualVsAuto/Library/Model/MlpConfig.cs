using static TorchSharp.torch;

namespace ManualVsAuto.Model;

/// <summary>The lecture's hyperparameters; the defaults are Exercise 1's.</summary>
public sealed record MlpConfig(int NEmbd = 10, int BlockSize = 3, int NHidden = 64, int VocabSize = 27)
{
    public const ulong LectureSeed = 2147483647;
}
