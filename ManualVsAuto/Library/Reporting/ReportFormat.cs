namespace ManualVsAuto.Reporting;

/// <summary>The <c>--format</c> choices.</summary>
public enum ReportFormat
{
    Table,
    Markdown,
    Json,
    Csv,
}
