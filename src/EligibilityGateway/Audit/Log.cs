using Microsoft.Extensions.Logging;

namespace EligibilityGateway.Audit;

/// <summary>
/// Log messages of the audit feature; event ids 1500-1599 belong to it. No message carries a record's content:
/// counts, sequence numbers, the store's kind and location, and the store's own error text only.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "Audit store opened: {StoreKind} at {Location}")]
    public static partial void Opened(ILogger logger, string storeKind, string location);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Critical, Message = "Audit store {StoreKind} at {Location} could not be opened; the gateway cannot record checks")]
    public static partial void OpenFailed(ILogger logger, string storeKind, string location, Exception exception);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Error, Message = "Audit commit of {RecordCount} records to {StoreKind} failed; none was recorded and their callers were refused")]
    public static partial void CommitFailed(ILogger logger, int recordCount, string storeKind, Exception exception);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Information, Message = "Audit store {StoreKind} commits again, from sequence {Sequence}")]
    public static partial void Recovered(ILogger logger, string storeKind, long sequence);

    [LoggerMessage(EventId = 1504, Level = LogLevel.Information, Message = "Audit log drained: {RecordCount} records in {TransactionCount} transactions committed since start, {FailedCount} transactions failed")]
    public static partial void Drained(ILogger logger, long recordCount, long transactionCount, long failedCount);

    [LoggerMessage(EventId = 1505, Level = LogLevel.Warning, Message = "Shutdown stopped waiting for the audit log with {PendingCount} entries still queued; they are written before the log is disposed")]
    public static partial void DrainTimedOut(ILogger logger, int pendingCount);

    [LoggerMessage(EventId = 1506, Level = LogLevel.Information, Message = "Audit schema migration {Version} applied: {Description}")]
    public static partial void MigrationApplied(ILogger logger, int version, string description);

    [LoggerMessage(EventId = 1507, Level = LogLevel.Debug, Message = "Audit checkpoint signed at sequence {Sequence} with key {KeyId}")]
    public static partial void CheckpointIssued(ILogger logger, long sequence, string keyId);

    [LoggerMessage(EventId = 1508, Level = LogLevel.Error, Message = "Audit checkpoint could not be written to {StoreKind}; the next one will cover its records")]
    public static partial void CheckpointFailed(ILogger logger, string storeKind, Exception exception);

    [LoggerMessage(EventId = 1550, Level = LogLevel.Information, Message = "Audit retention purge removed sequences {FirstSequence} to {LastSequence} ({RecordCount} records), anchored at the checkpoint at {LastSequence}; recorded at sequence {PurgeEventSequence}")]
    public static partial void Purged(ILogger logger, long firstSequence, long lastSequence, long recordCount, long purgeEventSequence);

    [LoggerMessage(EventId = 1551, Level = LogLevel.Debug, Message = "Audit retention purge: nothing to purge ({Reason})")]
    public static partial void NothingToPurge(ILogger logger, string reason);

    [LoggerMessage(EventId = 1552, Level = LogLevel.Error, Message = "Audit retention purge failed; it is tried again at the next interval")]
    public static partial void PurgeFailed(ILogger logger, Exception exception);
}
