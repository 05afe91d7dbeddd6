namespace EligibilityGateway.BulkChecks;

/// <summary>Bulk-check log events (ids 1800–1899). Job ids, counts and exception types only: never a subject or a case reference.</summary>
internal static partial class Log
{
    [LoggerMessage(1800, LogLevel.Information, "Bulk check {JobId} accepted for {CouncilId}/{SchemeId}: {Total} rows, {Invalid} invalid")]
    public static partial void Accepted(ILogger logger, string jobId, string councilId, string schemeId, int total, int invalid);

    [LoggerMessage(1801, LogLevel.Information, "Bulk check {JobId} leased (was {Status})")]
    public static partial void JobLeased(ILogger logger, string jobId, string status);

    [LoggerMessage(1802, LogLevel.Information, "Bulk check {JobId} stopping: {Reason}")]
    public static partial void JobStopping(ILogger logger, string jobId, string reason);

    [LoggerMessage(1803, LogLevel.Information, "Bulk check {JobId} released: {Status}")]
    public static partial void JobReleased(ILogger logger, string jobId, string status);

    [LoggerMessage(1804, LogLevel.Warning, "Bulk check {JobId} resumed: {FromAudit} items settled from their audit records, {Rechecked} to check again")]
    public static partial void Recovered(ILogger logger, string jobId, int fromAudit, int rechecked);

    [LoggerMessage(1805, LogLevel.Warning, "Bulk check {JobId}: an item could not be recorded (attempt {Attempt}); retrying")]
    public static partial void ItemRetried(ILogger logger, string jobId, int attempt);

    [LoggerMessage(1806, LogLevel.Warning, "Bulk check {JobId}: writing results failed ({ExceptionType})")]
    public static partial void WriteFailed(ILogger logger, string jobId, string exceptionType);

    [LoggerMessage(1807, LogLevel.Error, "Bulk check {JobId} stopped by an unexpected {ExceptionType}; it is taken up again at the next poll")]
    public static partial void JobFailed(ILogger logger, string jobId, string exceptionType);

    [LoggerMessage(1808, LogLevel.Warning, "Bulk-check poll failed ({ExceptionType})")]
    public static partial void PollFailed(ILogger logger, string exceptionType);

    [LoggerMessage(1809, LogLevel.Debug, "Bulk-check purge removed {Count} rows of jobs past their retention")]
    public static partial void Purged(ILogger logger, int count);

    [LoggerMessage(1810, LogLevel.Information, "Bulk check {JobId} cancelled by {CouncilId}")]
    public static partial void Cancelled(ILogger logger, string jobId, string councilId);

    [LoggerMessage(1811, LogLevel.Information, "Bulk checks kept in {Location}")]
    public static partial void UsingStore(ILogger logger, string location);

    [LoggerMessage(1812, LogLevel.Information, "Bulk-check schema migration {Version} applied: {Description}")]
    public static partial void MigrationApplied(ILogger logger, int version, string description);
}
