namespace ManualVsAuto.Checking;

/// <summary>A comparison that cannot be made (no gradient, unknown name, a step reading an untracked name); the message says which.</summary>
public sealed class GradientCheckException(string message) : Exception(message);
