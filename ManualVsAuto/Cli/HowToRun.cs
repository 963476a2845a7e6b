namespace ManualVsAuto.Cli;

/// <summary>How a user runs this program from the repository, for hints such as "Continue with: …".</summary>
public static class HowToRun
{
#if DEBUG
    public const string Prefix = "dotnet run --project ManualVsAuto --";
#else
    public const string Prefix = "dotnet run -c Release --project ManualVsAuto --";
#endif

    public static string Command(string arguments) => $"{Prefix} {arguments}";
}
