using Microsoft.Extensions.Logging;

namespace EligibilityGateway.Caching;

/// <summary>
/// Log messages of the answer cache; event ids 1400-1499 belong to it. No message carries a cache key, a value or
/// anything about a subject: the Redis endpoint, durations and counts only.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Redis at {Endpoints}: one connection for the answer cache and the state replicas share")]
    public static partial void UsingRedis(ILogger logger, string endpoints);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "Answer cache: process memory, at most {SizeLimitBytes} bytes")]
    public static partial void UsingMemory(ILogger logger, long sizeLimitBytes);

    // Logged once when Redis goes away, not once per request, so that an outage under load cannot flood the log.
    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "Redis is unavailable ({Reason}); answers are served live, reads miss and writes are skipped, and Redis is retried every {BackOff}")]
    public static partial void RedisUnavailable(ILogger logger, string reason, TimeSpan backOff, Exception? exception);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Redis is available again after {Outage}; the answer cache is back in use")]
    public static partial void RedisRecovered(ILogger logger, TimeSpan outage);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Debug, Message = "A cached value could not be opened (altered, moved from another key, sealed under another key or of another format); treated as a miss")]
    public static partial void UnreadableValue(ILogger logger);

    [LoggerMessage(EventId = 1410, Level = LogLevel.Information, Message = "Consent {ConsentId} revoked: its cached answer was deleted from the {Store} store")]
    public static partial void AnswerPurged(ILogger logger, string consentId, string store);

    [LoggerMessage(EventId = 1411, Level = LogLevel.Warning, Message = "Consent {ConsentId} revoked, but the {Store} store was unavailable and its cached answer was not deleted; it expires with its TTL and is never served under the revoked consent")]
    public static partial void AnswerNotPurged(ILogger logger, string consentId, string store);

    [LoggerMessage(EventId = 1412, Level = LogLevel.Information, Message = "Subscribed to the consent revocation channel {Channel}")]
    public static partial void RevocationChannelSubscribed(ILogger logger, string channel);

    [LoggerMessage(EventId = 1413, Level = LogLevel.Warning, Message = "The consent revocation channel is unavailable ({Reason}); it is retried, and revocations are still enforced through the consent store")]
    public static partial void RevocationChannelUnavailable(ILogger logger, string reason, Exception? exception);

    [LoggerMessage(EventId = 1414, Level = LogLevel.Debug, Message = "Revocation of consent {ConsentId} announced to {Receivers} subscribers")]
    public static partial void RevocationAnnounced(ILogger logger, string consentId, long receivers);

    [LoggerMessage(EventId = 1415, Level = LogLevel.Warning, Message = "Revocation of consent {ConsentId} was not announced to other replicas ({Reason}); they refuse it through the consent store")]
    public static partial void RevocationNotAnnounced(ILogger logger, string consentId, string reason);

    [LoggerMessage(EventId = 1416, Level = LogLevel.Information, Message = "Another replica revoked consent {ConsentId}; recorded here")]
    public static partial void RevocationLearnt(ILogger logger, string consentId);

    [LoggerMessage(EventId = 1417, Level = LogLevel.Warning, Message = "A message on the consent revocation channel was not understood and was ignored")]
    public static partial void RevocationMessageIgnored(ILogger logger);
}
