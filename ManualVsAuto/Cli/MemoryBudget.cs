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
    /// <summary>Parameters of the lecture's MLP: C, W1, b1, W2, b2, bngain, bnbias.</summary>
    public static double Parameters(long hidden, int embedding = 10, int block = 3, int vocab = 27) =>
        (double)vocab * embedding + (double)embedding * block * hidden + hidden + hidden * (double)vocab + vocab + 2.0 * hidden;

    /// <summary>check: every intermediate with its autograd and manual gradient, plus the oracle's float64 copies.</summary>
    public static double Check(long hidden, int batch, int elementSize, bool numeric) =>
        elementSize * 18 * (Parameters(hidden) + (double)batch * hidden) + (numeric ? 8 * 8 * Parameters(hidden) : 0);

    /// <summary>
    /// check --model wavenet. Per example the forward keeps the embedding (8 × 24), the three blocks' outputs over 4, 2
    /// and 1 positions (7 × n_hidden for each of the Linear's, the batchnorm's and the tanh's output) and the logits; with the
    /// batchnorm temporaries, autograd's saved tensors, the retained output gradients and the manual backward's, about
    /// 22 such sets (measured at n_hidden 128: 26,000 floats per example at --batch-size 4096, 30,000 at 16,384). The
    /// parameters are held about 7 times (values, autograd's and the manual gradients, copies). The numeric oracle
    /// (there is no float64 rerun for the layers) runs float64 forwards: about 3 sets of activations and 16 float64
    /// copies of the parameters (measured: +570 MB at --batch-size 16,384, +700 MB at --hidden 1024).
    /// </summary>
    public static double CheckWaveNet(long hidden, int batch, int elementSize, bool numeric)
    {
        double activations = WaveNetActivations(hidden);
        double parameters = WaveNetParameters(hidden);
        return elementSize * (7 * parameters + 22.0 * batch * activations) + (numeric ? 8 * (16 * parameters + 3.0 * batch * activations) : 0);
    }

    /// <summary>
    /// train: the parameters (values, gradients, optimiser state) and one step's activations at --batch-size, plus the
    /// training examples, packed as block_size + 1 bytes each. The evaluation after training runs
    /// <see cref="LayerInference.Chunk"/> examples at a time: no more than a step. Activations per example, measured
    /// as peak RSS less the default run's (Release build): the MLP's fused step holds about 6.3 (n, n_hidden) tensors
    /// (--hidden 2000 --batch-size 8192: +411 MiB), its autograd step 11.8 (+737 MiB); the WaveNet about 8 sets of its
    /// activations for either backward (--batch-size 8192: +278 MiB manual, +341 MiB autograd). The factors below err low.
    /// </summary>
    public static double Train(TrainingSettings s, long trainExamples)
    {
        // The loss history grows with --steps: the buffer, its copy for a checkpoint, and the checkpoint's bytes.
        double data = (s.BlockSize + 1.0) * trainExamples + 12.0 * s.Steps;
        if (s.Model == ModelKind.WaveNet)
        {
            double parameters = WaveNetParameters(s.Hidden);
            return 4 * (7 * parameters + 7.0 * s.BatchSize * WaveNetActivations(s.Hidden)) + data;
        }
        double perExample = s.Backward == BackwardKind.Manual ? 6 : 10;
        return 4 * (3 * Parameters(s.Hidden) + perExample * s.BatchSize * s.Hidden) + data;
    }

    /// <summary>The WaveNet's parameter count; past 10⁹ hidden units its 4·n_hidden² overflows a long, and that term
    /// alone (a lower bound) is far beyond any memory.</summary>
    private static double WaveNetParameters(long hidden) =>
        hidden <= 1_000_000_000 ? WaveNet.ParameterCount(nHidden: hidden) : 4.0 * hidden * hidden;

    /// <summary>The WaveNet's activations per example: the embedding (8 × 24), the three blocks' outputs over 4, 2 and 1
    /// positions (7 × n_hidden) and the logits.</summary>
    private static double WaveNetActivations(long hidden) =>
        WaveNet.BlockSize * WaveNet.LectureNEmbd + (WaveNet.BlockSize - 1) * (double)hidden + Vocabulary.Size;

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
