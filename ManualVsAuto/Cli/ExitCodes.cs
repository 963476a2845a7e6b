namespace ManualVsAuto.Cli;

/// <summary>The program's documented exit codes.</summary>
public static class ExitCodes
{
    /// <summary>Every gradient row meets the required level; training finished.</summary>
    public const int Ok = 0;

    /// <summary>A gradient row falls short, or training diverged (loss NaN/inf) or failed verification.</summary>
    public const int Failed = 1;

    /// <summary>A usage or input error: bad option value, missing or malformed data or checkpoint, too little memory for the run.</summary>
    public const int Usage = 2;

    /// <summary>An internal error (a bug): <c>EX_SOFTWARE</c> from sysexits.h, so CI can tell a crash from a wrong gradient.</summary>
    public const int Internal = 70;

    /// <summary>stdout or stderr cannot be written (closed, a full disk, <c>/dev/full</c>): <c>EX_IOERR</c> from sysexits.h.
    /// A reader that has gone (<c>| head</c>) is not an error.</summary>
    public const int OutputError = 74;

    /// <summary>Interrupted by Ctrl+C (after saving a checkpoint): 128 + SIGINT.</summary>
    public const int Interrupted = 130;

    /// <summary>Stopped by SIGTERM, e.g. a plain <c>kill</c> (after saving a checkpoint): 128 + SIGTERM.</summary>
    public const int Terminated = 143;

    /// <summary>The table that --help prints after every command's help.</summary>
    public const string Help = """
        Exit codes:
          0    success
          1    a gradient falls short, --verify-every fails, or training diverges
          2    a usage or input error, including a run refused for lack of memory
          70   an internal error (a bug; MVA_DEBUG=1 shows the stack trace)
          74   stdout or stderr cannot be written (closed or full; a closed pipe is not an error)
          130  interrupted by Ctrl+C (train saves a checkpoint first)
          143  stopped by SIGTERM (train saves a checkpoint first)
        """;
}
