using System.Globalization;

namespace ManualVsAuto.Training;

/// <summary>Where the training loop reports to: the lecture's loss lines, progress, and notes.</summary>
public interface ITrainingReporter
{
    /// <summary>The lecture's <c>print(f'{i:7d}/{max_steps:7d}: {loss.item():.4f}')</c>.</summary>
    void Loss(int step, int steps, float loss);

    /// <summary>Called every few hundred steps with the number of steps done.</summary>
    void Progress(int done);

    /// <summary>A note (checkpoint saved, verification passed): not part of the lecture's output.</summary>
    void Note(string message);
}

public static class LossLine
{
    public static string Format(int step, int steps, float loss) =>
        string.Create(CultureInfo.InvariantCulture, $"{step,7}/{steps,7}: {loss:F4}");
}

/// <summary>Plain lines, for a redirected output: losses on <paramref name="output"/>, notes on <paramref name="notes"/>.</summary>
public sealed class PlainReporter(TextWriter output, TextWriter notes) : ITrainingReporter
{
    public void Loss(int step, int steps, float loss) => output.WriteLine(LossLine.Format(step, steps, loss));

    public void Progress(int done) { }

    public void Note(string message) => notes.WriteLine(message);
}
