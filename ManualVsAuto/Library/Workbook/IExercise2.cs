using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>Exercise 2: d loss / d logits of <c>loss = F.cross_entropy(logits, Yb)</c> in one formula.</summary>
public interface IExercise2
{
    Tensor dlogits(Tensor logits, Tensor Yb, long n);
}
