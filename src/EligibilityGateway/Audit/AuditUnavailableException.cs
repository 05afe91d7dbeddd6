namespace EligibilityGateway.Audit;

/// <summary>Why an entry could not be recorded.</summary>
internal enum AuditUnavailableReason
{
    /// <summary>The store refused or failed the commit (locked past the busy timeout, file gone, disk full, …); the whole batch was rolled back.</summary>
    CommitFailed,

    /// <summary>The log is shutting down and accepts no more entries.</summary>
    ShuttingDown,

    /// <summary>The store could not be opened when the log started.</summary>
    StartFailed,

    /// <summary>A read (e.g. <see cref="IAuditLog.FindCheckAsync"/>) failed; nothing can be said about the record.</summary>
    ReadFailed,
}

/// <summary>
/// The entry was not recorded, so whatever it describes must not be released: the check API answers 503
/// (README.md, "Durability rule"). Thrown by <see cref="IAuditLog.AppendAsync"/>; the message holds no personal data.
/// </summary>
internal sealed class AuditUnavailableException : Exception
{
    public AuditUnavailableException(AuditUnavailableReason reason, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Reason = reason;
    }

    public AuditUnavailableReason Reason { get; }
}
