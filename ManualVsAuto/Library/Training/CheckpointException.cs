namespace ManualVsAuto.Training;

/// <summary>A checkpoint is missing, truncated, foreign, corrupt, in the way, or does not fit the run; the message is for the user as is.</summary>
public sealed class CheckpointException(string message, Exception? inner = null) : Exception(message, inner);
