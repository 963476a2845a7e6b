using System.Runtime.ExceptionServices;
using static TorchSharp.torch;

namespace ManualVsAuto.Workbook;

/// <summary>An answer that did not return within the time limit; its thread is left running (.NET cannot stop it).</summary>
public sealed class AnswerTimedOut(TimeSpan limit) : Exception(FormattableString.Invariant($"timed out after {limit.TotalSeconds:0.#} s"));

/// <summary>
/// Runs one answer on a worker thread, so an answer that never returns (a loop that does not end) is graded ERROR
/// after a time limit and the rest is still graded. Grad mode and dispose scopes are per thread: both are set there,
/// and the answer's tensor is handed to the caller's dispose scope.
/// </summary>
internal static class AnswerRunner
{
    /// <summary>Far above any answer's time (milliseconds), far below a learner's patience.</summary>
    public static readonly TimeSpan DefaultLimit = TimeSpan.FromSeconds(20);

    /// <summary>Set once an answer timed out: its thread still runs, so the process should end when the report is out.</summary>
    public static bool AnyTimedOut { get; private set; }

    /// <summary>The answer's result; its exception rethrown with its own stack; <see cref="AnswerTimedOut"/> past <paramref name="limit"/>.</summary>
    /// <param name="grad">Autograd on (Exercise 5's training loop); off for a manual gradient.</param>
    public static T Run<T>(Func<T> ask, TimeSpan limit, bool grad = false)
    {
        T? result = default;
        ExceptionDispatchInfo? error = null;
        var worker = new Thread(() =>
        {
            try
            {
                using var mode = grad ? enable_grad() : no_grad();
                using var scope = NewDisposeScope();
                result = ask();
                if (result is Tensor t) t.DetachFromDisposeScope();
                // Exercise 4's gradients: left to the GC on the caller's side (a step's are small).
                if (result is Model.MlpParameters p) foreach (var g in p.All) g?.DetachFromDisposeScope();
            }
            catch (Exception e)
            {
                error = ExceptionDispatchInfo.Capture(e);
            }
        }, maxStackSize: 64 * 1024 * 1024) { IsBackground = true, Name = "workbook answer" };
        worker.Start();
        if (!worker.Join(limit))
        {
            AnyTimedOut = true;
            throw new AnswerTimedOut(limit);
        }
        error?.Throw();
        // The caller's dispose scope takes a handle made on its own thread.
        // (The worker's handle is left to the GC: the answer may have returned one of its inputs.)
        if (result is Tensor r) return (T)(object)r.alias();
        return result!;
    }
}
