namespace EligibilityGateway.Pages;

/// <summary>The audit pages' log messages (event ids 2060-2069 of the pages' range): counts and sequences only, never a filter value or a record.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2060, Level = LogLevel.Information, Message = "An auditor verified the audit log from the audit pages: valid, {RecordCount} records up to sequence {LastSequence}")]
    public static partial void AuditPageVerified(ILogger logger, long recordCount, long lastSequence);

    [LoggerMessage(EventId = 2061, Level = LogLevel.Critical, Message = "An auditor verified the audit log from the audit pages: INVALID from sequence {FirstBadSequence}")]
    public static partial void AuditPageVerificationFailed(ILogger logger, long firstBadSequence);
}
