namespace EligibilityGateway.Consents;

/// <summary>
/// Consent log events (ids 1700–1799). Consent ids, councils, schemes and states only: never an identifier, a
/// name, a date of birth or a citizen's account id.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(1700, LogLevel.Information, "Consent store: SQLite at {Path}")]
    public static partial void UsingSqlite(ILogger logger, string path);

    [LoggerMessage(1706, LogLevel.Information, "Consent store: PostgreSQL at {Location}")]
    public static partial void UsingPostgres(ILogger logger, string location);

    [LoggerMessage(1707, LogLevel.Information, "Consent store: schema migration {Version} applied ({Description})")]
    public static partial void MigrationApplied(ILogger logger, int version, string description);

    [LoggerMessage(1701, LogLevel.Information, "Consent {ConsentId} for {CouncilId}/{SchemeId}: {From} -> {To}")]
    public static partial void Transitioned(ILogger logger, string consentId, string councilId, string schemeId, string from, string to);

    [LoggerMessage(1702, LogLevel.Information, "Consent for {CouncilId}/{SchemeId} not created: denied by rule {Rule}")]
    public static partial void CreationDenied(ILogger logger, string councilId, string schemeId, string rule);

    [LoggerMessage(1703, LogLevel.Information, "Consent {ConsentId}: {Operation} refused, the consent is {Status}")]
    public static partial void TransitionRefused(ILogger logger, string consentId, string operation, string status);

    [LoggerMessage(1704, LogLevel.Error, "Consent {ConsentId}: {Transition} undone, the audit log could not record it")]
    public static partial void TransitionNotRecorded(ILogger logger, string consentId, string transition);

    [LoggerMessage(1705, LogLevel.Error, "Consent {ConsentId}: the bound subject cannot be opened (altered, or consent-encryption.key changed)")]
    public static partial void SubjectUnreadable(ILogger logger, string consentId);

    [LoggerMessage(1711, LogLevel.Error, "Consent {ConsentId}: revocation observer {Observer} failed; the revocation stands")]
    public static partial void ObserverFailed(ILogger logger, string consentId, string observer, Exception exception);
}
