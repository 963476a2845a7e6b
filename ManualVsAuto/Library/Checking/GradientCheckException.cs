namespace ManualVsAuto.Checking;

/// <summary>A comparison that cannot be made (shape mismatch, no gradient, unknown name); the message says which.</summary>
public sealed class GradientCheckException(string message) : Exception(message);
