using System.Globalization;
using ManualVsAuto.Data;
using ManualVsAuto.Model;
using ManualVsAuto.Training;

namespace ManualVsAuto.Cli;

/// <summary>
/// Refuses a run that cannot fit in memory before anything is allocated, instead of letting libtorch fail halfway.
/// The estimates come from the peak resident memory measured at large <c>--hidden</c> (where the model dominates)
/// and err low: a run refused here would certainly not fit.
/// </summary>
public static class MemoryBudget
{
    /// <param name="Check">check's bytes at (n_hidden, batch size, element size, numeric oracle on).</param>
    /// <param name="TrainStep">train's bytes for the parameters and one step, without the training examples.</param>
    public sealed record Estimate(Func<long, int, int, bool, double> Check, Func<TrainingSettings, double> TrainStep);

    /// <summary>Per net (see Model/ModelKind.cs): the MLP's own estimates; any other net's come from its parameter count
    /// and activations per example, with the factors measured on the WaveNet.</summary>
    public static readonly ModelTable<Estimate> Estimates = new ModelTable<Estimate>(LayerNet)
        .With(ModelKinds.Mlp, new Estimate(MlpCheck, MlpTrainStep));

    /// <summary>Parameters of the lecture's MLP: C, W1, b1, W2, b2, bngain, bnbias.</summary>
    public static double Parameters(long hidden) => Mlp.ParameterCount(hidden);

    /// <summary>check on <paramref name="kind"/>.</summary>
    public static double Check(ModelKind kind, long hidden, int batch, int elementSize, bool numeric) =>
        Estimates[kind].Check(hidden, batch, elementSize, numeric);

    /// <summary>
    /// train: the parameters (values, gradients, optimiser state) and one step's activations at --batch-size, plus the
    /// training examples, packed as block_size + 1 bytes each. The evaluation after training runs
    /// <see cref="LayerInference.Chunk"/> examples at a time: no more than a step. The factors (measured as peak RSS
    /// less the default run's, Release build; the figures are the ones HardeningCliTests holds the estimates under) err low.
    /// </summary>
    public static double Train(TrainingSettings s, long trainExamples) =>
        // The loss history grows with --steps: the buffer, its copy for a checkpoint, and the checkpoint's bytes.
        Estimates[s.Model].TrainStep(s) + (s.BlockSize + 1.0) * trainExamples + 12.0 * s.Steps;

    /// <summary>check on the MLP: every intermediate with its autograd and manual gradient, plus the oracle's float64 copies.</summary>
    private static double MlpCheck(long hidden, int batch, int elementSize, bool numeric) =>
        elementSize * 18 * (Parameters(hidden) + (double)batch * hidden) + (numeric ? 8 * 8 * Parameters(hidden) : 0);

    /// <summary>The MLP's loop step holds about 6.3 (n, n_hidden) tensors, its autograd step 11.8.</summary>
    private static double MlpTrainStep(TrainingSettings s)
    {
        double perExample = s.Backward == BackwardKind.Manual ? 6 : 10;
        return 4 * (3 * Parameters(s.NHidden) + perExample * s.BatchSize * s.NHidden);
    }

    /// <summary>
    /// A net made of layers, measured on the WaveNet. check: the forward's activations with the batchnorm temporaries,
    /// autograd's saved tensors, the retained output gradients and the manual backward's, about 22 such sets per
    /// example; the parameters about 7 times (values, autograd's and the manual gradients, copies); the numeric oracle
    /// (no float64 rerun for the layers) runs float64 forwards: about 3 sets of activations and 16 float64 copies of the
    /// parameters. train: 7 parameter copies and about 8 sets of activations for either backward (7 here: it errs low).
    /// </summary>
    private static Estimate LayerNet(ModelKind kind) => new(
        (hidden, batch, elementSize, numeric) =>
        {
            double activations = kind.ActivationsPerExample(hidden), parameters = kind.ParameterCount(hidden);
            return elementSize * (7 * parameters + 22.0 * batch * activations) + (numeric ? 8 * (16 * parameters + 3.0 * batch * activations) : 0);
        },
        s => 4 * (7 * kind.ParameterCount(s.NHidden) + 7.0 * s.BatchSize * kind.ActivationsPerExample(s.NHidden)));

    /// <summary>sample: the parameters and, for a mid-run MLP checkpoint, the training examples (4 bytes each) its
    /// batchnorm calibration reads, <see cref="LayerInference.Chunk"/> examples at a time.</summary>
    public static double Sample(long hidden, long calibrationExamples) =>
        4 * (3 * Parameters(hidden) + 6.0 * LayerInference.Chunk * hidden) + 4.0 * calibrationExamples;

    /// <summary>Throws a one-line usage error when <paramref name="needed"/> bytes exceed what is available.</summary>
    /// <param name="advice">What the user can change; sample has neither --hidden nor --batch-size.</param>
    public static void Ensure(double needed, string what, long? available = null, string advice = "try a smaller --hidden or --batch-size")
    {
        long free = available ?? Available();
        if (needed <= free) return;
        throw new UserInputException(string.Create(CultureInfo.InvariantCulture,
            $"{what} needs about {Size(needed)} of memory, but only {Size(free)} is available; {advice}."));
    }

    /// <summary>Memory this process can use (<see cref="AvailableMemory.Bytes"/>).</summary>
    public static long Available() => AvailableMemory.Bytes();

    /// <summary>MemAvailable from /proc/meminfo in bytes, or null (<see cref="AvailableMemory.MemAvailable"/>).</summary>
    public static long? MemAvailable(string path = "/proc/meminfo") => AvailableMemory.MemAvailable(path);

    public static string Size(double bytes) => AvailableMemory.Size(bytes);
}
