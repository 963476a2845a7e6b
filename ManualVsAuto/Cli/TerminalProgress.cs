using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

using ManualVsAuto.Training;

namespace ManualVsAuto.Cli;

/// <summary>A progress bar with steps/s and ETA for a terminal; loss lines and notes print above it.</summary>
public sealed class TerminalReporter(IAnsiConsole console, ProgressTask task) : ITrainingReporter
{
    public void Loss(int step, int steps, float loss) => console.WriteLine(LossLine.Format(step, steps, loss));

    public void Progress(int done) => task.Value = done;

    public void Note(string message) => console.MarkupLineInterpolated($"[grey]{message}[/]");

    /// <summary>Runs <paramref name="body"/> under a live progress bar starting at <paramref name="start"/> of <paramref name="steps"/>.</summary>
    public static T Run<T>(IAnsiConsole console, string label, int start, int steps, Func<ITrainingReporter, T> body)
    {
        T result = default!;
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new StepsPerSecondColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(label, maxValue: Math.Max(steps, 1));
                task.Value = start;
                result = body(new TerminalReporter(console, task));
            });
        return result;
    }

    private sealed class StepsPerSecondColumn : ProgressColumn
    {
        protected override bool NoWrap => true;

        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text(task.Speed is double s ? string.Create(CultureInfo.InvariantCulture, $"{s,7:N0} steps/s") : "", Style.Plain);
    }
}
