using System.Globalization;
using System.Threading.RateLimiting;
using EligibilityGateway.Caching;
using EligibilityGateway.TrustFramework;
using StackExchange.Redis;

namespace EligibilityGateway.Checks;

/// <summary>A rate limit's answer: a permit, or none until <see cref="RetryAfter"/> has passed.</summary>
internal readonly record struct RateLimitDecision(bool Acquired, TimeSpan RetryAfter)
{
    public static RateLimitDecision Allow => new(true, TimeSpan.Zero);
}

/// <summary>
/// Per-council, per-scheme limits from the trust framework (the permission's rate limit, else the council's). Fixed
/// windows, no queueing: a council over its limit is told at once when to come back. With <c>Cache:Redis</c> set the
/// count is one Redis key per (council, scheme, limit), shared by every replica, so replicas do not multiply a
/// council's allowance: one atomic script increments it, starts its window (the key's expiry) on the first check and
/// returns the count and the time left. When Redis fails, this replica counts in its own memory until Redis answers
/// again (after <c>Cache:BackOff</c>), so checks are never refused, nor left unlimited, because Redis is away
/// (README.md, "Rate limits").
/// </summary>
internal sealed class CheckRateLimiter : IDisposable
{
    /// <summary>Keys are <c>egw:rate:v1:{council}:{scheme}:{limit}:{window ms}</c>: ids from the trust framework, nothing personal.</summary>
    public const string KeyPrefix = "egw:rate:v1:";

    // KEYS[1]: the window's counter; ARGV[1]: the window (ms). The first check of a window starts it (sets the expiry);
    // a counter without an expiry (never expected) gets one, so it cannot count forever. Returns {count, ms left}.
    private const string AcquireScript = """
        local count = redis.call('INCR', KEYS[1])
        local left = redis.call('PTTL', KEYS[1])
        if count == 1 or left < 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
          left = tonumber(ARGV[1])
        end
        return {count, left}
        """;

    // The limit is part of the partition key, so a reloaded framework with a new limit starts a fresh window
    // instead of silently keeping the old one.
    private readonly PartitionedRateLimiter<Partition> _limiter = PartitionedRateLimiter.Create<Partition, Partition>(
        partition => RateLimitPartition.GetFixedWindowLimiter(partition, key => new FixedWindowRateLimiterOptions
        {
            PermitLimit = key.Limit.Limit,
            Window = key.Limit.Window,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    private readonly IConnectionMultiplexer? redis;
    private readonly TimeSpan operationTimeout;
    private readonly RedisBackOff gate;
    private readonly TimeProvider timeProvider;
    private readonly ILogger logger;

    /// <param name="redis">The shared connection when <c>Cache:Redis</c> is set; null to count in this process only.</param>
    public CheckRateLimiter(IConnectionMultiplexer? redis, CacheOptions cacheOptions, TimeProvider timeProvider, ILogger<CheckRateLimiter> logger)
    {
        ArgumentNullException.ThrowIfNull(cacheOptions);
        this.redis = redis;
        operationTimeout = cacheOptions.OperationTimeout;
        gate = new RedisBackOff(cacheOptions.BackOff, timeProvider);
        this.timeProvider = timeProvider;
        this.logger = logger;
    }

    /// <summary>Takes one permit; when none is left, says how long until the window turns.</summary>
    public async ValueTask<RateLimitDecision> TryAcquireAsync(string councilId, string schemeId, RateLimit limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limit);
        if (redis is { IsConnected: true } connection && gate.TryEnter())
        {
            try
            {
                var windowMilliseconds = Math.Max(1L, (long)Math.Ceiling(limit.Window.TotalMilliseconds));
                var key = string.Create(CultureInfo.InvariantCulture, $"{KeyPrefix}{councilId}:{schemeId}:{limit.Limit}:{windowMilliseconds}");
                var result = (RedisResult[])(await RedisBackOff.Bounded(
                    connection.GetDatabase().ScriptEvaluateAsync(AcquireScript, [key], [windowMilliseconds]), operationTimeout, timeProvider, cancellationToken).ConfigureAwait(false))!;
                if (gate.MarkInUse() is { } outage)
                {
                    Log.RateLimitRedisBack(logger, outage.TotalSeconds);
                }

                return (long)result[0] <= limit.Limit
                    ? RateLimitDecision.Allow
                    : new RateLimitDecision(false, TimeSpan.FromMilliseconds(Math.Max(1L, (long)result[1])));
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                if (gate.MarkUnavailable())
                {
                    Log.RateLimitRedisUnavailable(logger, ex.GetType().Name);
                }
            }
        }

        return AcquireInProcess(councilId, schemeId, limit);
    }

    public void Dispose() => _limiter.Dispose();

    private RateLimitDecision AcquireInProcess(string councilId, string schemeId, RateLimit limit)
    {
        using var lease = _limiter.AttemptAcquire(new Partition(councilId, schemeId, limit));
        if (lease.IsAcquired)
        {
            return RateLimitDecision.Allow;
        }

        return new RateLimitDecision(false, lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : limit.Window);
    }

    private readonly record struct Partition(string CouncilId, string SchemeId, RateLimit Limit);
}
