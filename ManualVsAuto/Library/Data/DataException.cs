namespace ManualVsAuto.Data;

/// <summary>The names file is missing, unreadable or malformed; the message is meant for the user as is.</summary>
public sealed class DataException(string message, Exception? inner = null) : Exception(message, inner);
