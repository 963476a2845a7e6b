namespace ManualVsAuto.Workbook;

/// <summary>
/// What a blank in a workbook throws: the grader reports the line as "not attempted" (a skipped test), never as
/// passed. Returning null is not a blank: it is graded wrong ("returned null").
/// </summary>
public sealed class NotAttempted() : Exception("not attempted yet");
