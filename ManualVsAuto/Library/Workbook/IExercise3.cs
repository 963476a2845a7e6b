using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>
/// Exercise 3: d loss / d hprebn of the whole batchnorm layer in one formula, from d loss / d hpreact
/// (<c>hpreact = bngain * (hprebn - mean) / sqrt(var_unbiased + eps) + bnbias</c>).
/// </summary>
public interface IExercise3
{
    Tensor dhprebn(Tensor dhpreact, Tensor bngain, Tensor bnvar_inv, Tensor bnraw, long n);
}
