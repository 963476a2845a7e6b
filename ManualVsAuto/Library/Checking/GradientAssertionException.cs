namespace ManualVsAuto.Checking;

/// <summary>
/// Thrown by <see cref="GradientCheck.AssertAllExact"/>, <see cref="GradientCheck.AssertAllClose"/> and
/// <see cref="GradientCheck.Assert"/> when a compared gradient does not meet the required level. The message is
/// a plain-text table of the failing rows (name, shape, exact, approximate, maxdiff, ulps, the worst element with
/// the manual and autograd values there, the mistake hint) and a one-line summary of all rows.
/// Also thrown by <see cref="FunctionCheckResult.Assert"/> when a rule test of a custom autograd Function fails:
/// then the message is the table of the failing rules and <see cref="FailingRules"/> holds them.
/// </summary>
public sealed class GradientAssertionException : Exception
{
    public GradientAssertionException(string message, RequiredLevel level, IReadOnlyList<GradientRow> failingRows)
        : base(message)
    {
        Level = level;
        FailingRows = failingRows;
    }

    /// <summary>A failed rule test: <see cref="Level"/> is <see cref="RequiredLevel.Approx"/>, <see cref="FailingRows"/> empty.</summary>
    public GradientAssertionException(string message, IReadOnlyList<RuleRow> failingRules)
        : base(message)
    {
        Level = RequiredLevel.Approx;
        FailingRows = [];
        FailingRules = failingRules;
    }

    /// <summary>The level that was asserted.</summary>
    public RequiredLevel Level { get; }

    /// <summary>The rows that did not meet <see cref="Level"/>, in the order they were compared.</summary>
    public IReadOnlyList<GradientRow> FailingRows { get; }

    /// <summary>The rules that failed, from <see cref="FunctionCheckResult.Assert"/>; empty otherwise.</summary>
    public IReadOnlyList<RuleRow> FailingRules { get; } = [];
}
