using ManualVsAuto.Data;
using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>A workbook's <c>dotnet run</c>: grades the exercises and prints the report.</summary>
public static class WorkbookProgram
{
    public const string Usage = "usage: dotnet run [-- --data PATH/names.txt]";

    /// <param name="namesFile">Where the data file was when the workbook was made; <c>--data PATH</c> overrides it.</param>
    /// <param name="e5">Exercise 5; when null, the workbook's own class that implements <see cref="IExercise5"/>
    /// (its Exercise5.cs), so a workbook made before Exercise 5 existed builds as it is and gains it by copying that file in.</param>
    /// <returns>0 when no attempted answer is wrong (blanks do not fail), 1 when one is, 2 for bad input.</returns>
    public static int Run(string[] args, string namesFile, IExercise1 e1, IExercise2 e2, IExercise3 e3, IExercise4 e4, IExercise5? e5 = null)
    {
        try
        {
            if (args is ["--help" or "-h"]) { Console.WriteLine(Usage); return 0; }
            string? data = args switch
            {
                [] => null,
                ["--data", var path] => path,
                _ => throw new DataException($"unexpected arguments '{string.Join(' ', args)}'; {Usage}"),
            };
            var train = LoadTraining(data ?? namesFile);
            set_num_threads(1); // fastest for a model this small, and the same every run
            var asking = Console.IsErrorRedirected ? null : Breadcrumbs(Console.Error);
            var lecture = WorkbookGrader.GradeLecture(e1, e2, e3, train, asking: asking);
            var training = WorkbookGrader.GradeTraining(e4, train, asking: asking);
            e5 ??= Exercise5Of(e1);
            var loop = e5 is null ? null : WorkbookGrader.GradeLoop(e5, train, asking: asking);
            asking?.Invoke("");
            Console.Write(WorkbookReport.ToText(lecture, training, loop));
            var all = lecture.Lines.Concat(lecture.Chained).Append(lecture.CrossEntropy).Append(lecture.BatchNorm).Append(training)
                .Concat(loop is null ? [] : [loop]);
            return all.Any(g => g.Outcome is Outcome.Wrong or Outcome.Error) ? 1 : 0;
        }
        catch (DataException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>The workbook's Exercise 5 (a public class with a parameterless constructor beside Exercise 1's), or null when it has none.</summary>
    public static IExercise5? Exercise5Of(IExercise1 e1) => e1.GetType().Assembly is { IsDynamic: true } ? null :
        e1.GetType().Assembly.GetExportedTypes()
            .Where(t => typeof(IExercise5).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false } && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (IExercise5)Activator.CreateInstance(t)!).FirstOrDefault();

    /// <summary>
    /// Says on a terminal which answer is being graded, before it is called, each line overwriting the last ("" clears
    /// it). TorchSharp 0.107's native matmul does not catch libtorch's errors (mm, +, cat, view do: ExternalException),
    /// so a matmul of mismatched shapes ends the process with "terminate called after throwing an instance of
    /// 'c10::Error'" and the op's message, and this line, right before it, names the culprit.
    /// </summary>
    private static Action<string> Breadcrumbs(TextWriter writer) => answer =>
    {
        writer.Write("\r\u001b[K" + (answer.Length == 0 ? "" : $"grading your {answer}… "));
        writer.Flush();
    };

    /// <summary>The lecture's training split of the names file at <paramref name="namesFile"/>.</summary>
    /// <exception cref="DataException">The file is missing or malformed.</exception>
    public static Examples LoadTraining(string namesFile)
    {
        string path = DataLocator.ResolveExplicit(namesFile, Directory.GetCurrentDirectory());
        var names = NamesFile.Load(path);
        EnsureEnough(names.Count, path);
        return Dataset.Split(names).Train;
    }

    /// <summary>The workbook draws its minibatches from the training split: it needs one name there (as <c>check</c> does).</summary>
    /// <exception cref="DataException">Too few names.</exception>
    public static void EnsureEnough(int count, string path)
    {
        if (SplitSizes.TooFew(path, count, "the workbook", train: 1, dev: 0, "at least one name in the training split (80%)") is { } message)
            throw new DataException(message);
    }
}
