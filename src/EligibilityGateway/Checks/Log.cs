namespace EligibilityGateway.Checks;

/// <summary>Check-path log events (ids 1600–1699). Councils, schemes, outcomes and rules only: never a subject.</summary>
internal static partial class Log
{
    [LoggerMessage(1600, LogLevel.Debug, "Check answered for {CouncilId}/{SchemeId}: {Outcome} from {ServedFrom}, audit sequence {AuditSequence}")]
    public static partial void Answered(ILogger logger, string councilId, string schemeId, string outcome, string servedFrom, long auditSequence);

    [LoggerMessage(1601, LogLevel.Information, "Check denied for {CouncilId}/{SchemeId} by rule {Rule}")]
    public static partial void Denied(ILogger logger, string councilId, string schemeId, string rule);

    [LoggerMessage(1602, LogLevel.Warning, "Check refused for {CouncilId}/{SchemeId}: rate limit reached")]
    public static partial void RateLimited(ILogger logger, string councilId, string schemeId);

    [LoggerMessage(1604, LogLevel.Warning, "Rate limits: Redis is unavailable ({Error}); this replica counts checks in its own memory until it answers again")]
    public static partial void RateLimitRedisUnavailable(ILogger logger, string error);

    [LoggerMessage(1605, LogLevel.Information, "Rate limits: Redis answers again after {Seconds} s; checks are counted there")]
    public static partial void RateLimitRedisBack(ILogger logger, double seconds);

    [LoggerMessage(1603, LogLevel.Error, "Check for {CouncilId}/{SchemeId} not released: the audit log could not record it")]
    public static partial void AuditUnavailable(ILogger logger, string councilId, string schemeId);
}
