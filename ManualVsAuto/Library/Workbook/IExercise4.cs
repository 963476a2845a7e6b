using ManualVsAuto.Model;
using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>
/// Exercise 4: the training step's backward, built from your fused formulas (Exercises 2 and 3): the gradients of
/// the 7 parameters, returned as <c>new MlpParameters(dC, dW1, db1, dW2, db2, dbngain, dbnbias)</c>. The grader
/// runs the lecture's loop around it: forward (the MLP's layers, <see cref="Mlp.Run"/>), your backward, <c>p -= lr·grad</c>.
/// </summary>
public interface IExercise4
{
    MlpParameters Backward(MlpParameters p, TrainingForwardState f, Tensor Xb, Tensor Yb);
}
