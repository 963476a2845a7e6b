using System.Runtime.InteropServices;

namespace ManualVsAuto.Training;

/// <summary>
/// Ctrl+C (SIGINT) and SIGTERM (a plain <c>kill</c>) while a command runs: the first one asks the work to stop at its
/// next chunk (a training step, a chunk of calibration or evaluation, a sampled name, the plot), which then throws
/// <see cref="RunStoppedException"/>; a second Ctrl+C ends the process as usual. While listening, the instance is the
/// <see cref="Current"/> of its async flow, which <see cref="Inference"/> polls: the phases after training are reached through
/// <see cref="ITrainedModel"/>, whose callers should not each pass a token down.
/// </summary>
public sealed class StopSignals : IDisposable
{
    private readonly PosixSignalRegistration interrupt, terminate;
    private volatile int signal; // 0, or the first signal's number

    private StopSignals()
    {
        interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Request(c, 2));
        terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Request(c, 15));
    }

    // Per async flow, not per process: two commands run in one process (tests) must not stop each other.
    private static readonly AsyncLocal<StopSignals?> current = new();

    /// <summary>The listener of the command running now, or null (signals then end the process at once, as usual).</summary>
    public static StopSignals? Current
    {
        get => current.Value;
        private set => current.Value = value;
    }

    /// <summary>Starts listening; dispose to stop.</summary>
    public static StopSignals Listen() => Current = new StopSignals();

    public bool Requested => signal != 0;

    /// <summary>128 + the signal: 130 for Ctrl+C, 143 for SIGTERM.</summary>
    public int ExitCode => 128 + signal;

    /// <summary>"Interrupted" (Ctrl+C) or "Stopped by SIGTERM", to start the line that says where the run stopped.</summary>
    public string How => signal == 15 ? "Stopped by SIGTERM" : "Interrupted";

    /// <summary>Throws <see cref="RunStoppedException"/> once a signal has come.</summary>
    public void ThrowIfRequested()
    {
        if (Requested) throw new RunStoppedException(this);
    }

    /// <summary>Throws if the current listener has had a signal; nothing when none listens.</summary>
    public static void ThrowIfStopping() => Current?.ThrowIfRequested();

    /// <summary>Marks the stop as asked for, for tests and callers that stop for their own reasons.</summary>
    public void Request(int signalNumber) => signal = signal == 0 ? signalNumber : signal;

    private void Request(PosixSignalContext c, int number)
    {
        if (Requested && number == 2) return; // the second Ctrl+C: the default action ends the process
        c.Cancel = true;
        Request(number);
    }

    public void Dispose()
    {
        interrupt.Dispose();
        terminate.Dispose();
        if (Current == this) Current = null;
    }
}

/// <summary>A run stopped by SIGINT or SIGTERM between two chunks of work; <see cref="Signals"/> says which and the exit code.</summary>
public sealed class RunStoppedException(StopSignals signals) : OperationCanceledException($"{signals.How}.")
{
    public StopSignals Signals { get; } = signals;
}
