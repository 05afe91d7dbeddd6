using Microsoft.Extensions.Logging;

namespace EligibilityGateway.Caching;

/// <summary>
/// Log messages of the answer cache; event ids 1400-1499 belong to it. No message carries a cache key, a value or
/// anything about a subject: the Redis endpoint, durations and counts only.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Answer cache: Redis at {Endpoints}")]
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
}
