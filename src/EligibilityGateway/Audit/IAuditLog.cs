namespace EligibilityGateway.Audit;

/// <summary>
/// The audit log as the rest of the gateway uses it (README.md). One implementation, <see cref="AuditLog"/>, whatever
/// the store; the interface lets hosts substitute a log and keeps callers away from the writer's internals.
/// </summary>
internal interface IAuditLog
{
    /// <summary>
    /// Appends <paramref name="entry"/> and completes only once it is committed durably, with the sequence number
    /// and time the log gave it. Release an answer only after this returns (README.md, "Durability rule").
    /// </summary>
    /// <remarks>
    /// Cancelling stops the wait, not the write: an entry already queued may still be committed. That errs on the
    /// side the durability rule allows (a record without a released answer, never an answer without a record).
    /// </remarks>
    /// <exception cref="AuditUnavailableException">Nothing was recorded; release nothing.</exception>
    /// <exception cref="ArgumentException">The entry breaks <see cref="AuditEntryRules"/>.</exception>
    ValueTask<AuditReceipt> AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default);

    /// <summary>
    /// The answered check <paramref name="checkId"/> if <paramref name="councilId"/> made it; null when there is no
    /// such check, it was denied, or another council made it (the isolation is part of the query).
    /// </summary>
    ValueTask<StoredCheck?> FindCheckAsync(string checkId, string councilId, CancellationToken cancellationToken = default);
}
