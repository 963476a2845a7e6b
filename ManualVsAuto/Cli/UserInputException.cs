namespace ManualVsAuto.Cli;

/// <summary>Bad input found after parsing (e.g. a combination of options); reported in one line with exit code 2.</summary>
public sealed class UserInputException(string message) : Exception(message);
