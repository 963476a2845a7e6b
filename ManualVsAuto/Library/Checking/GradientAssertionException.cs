namespace ManualVsAuto.Checking;

/// <summary>
/// Thrown by <see cref="GradientCheck.AssertAllExact"/>, <see cref="GradientCheck.AssertAllClose"/> and
/// <see cref="GradientCheck.Assert"/> when a compared gradient does not meet the required level. The message is
/// a plain-text table of the failing rows (name, shape, exact, approximate, maxdiff, ulps, the worst element with
/// the manual and autograd values there, the mistake hint) and a one-line summary of all rows.
/// </summary>
public sealed class GradientAssertionException : Exception
{
    public GradientAssertionException(string message, RequiredLevel level, IReadOnlyList<GradientRow> failingRows)
        : base(message)
    {
        Level = level;
        FailingRows = failingRows;
    }

    /// <summary>The level that was asserted.</summary>
    public RequiredLevel Level { get; }

    /// <summary>The rows that did not meet <see cref="Level"/>, in the order they were compared.</summary>
    public IReadOnlyList<GradientRow> FailingRows { get; }
}
