using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace EligibilityGateway.Caching;

/// <summary>
/// The Redis store, shared by every replica, on the gateway's one Redis connection (<see cref="RedisConnection"/>). It
/// fails open (README.md, "Failure"): when Redis is down or slow, reads miss and writes are skipped within
/// <see cref="CacheOptions.OperationTimeout"/>; the first failure opens a back-off window in which every request
/// bypasses Redis at no cost, after which a single request tries it again. The multiplexer reconnects by itself (never
/// aborting on a failed connect), so the cache comes back without a restart.
/// </summary>
internal sealed class RedisCacheStore : ICacheStore
{
    private readonly IConnectionMultiplexer redis;
    private readonly TimeSpan operationTimeout;
    private readonly TimeSpan backOff;
    private readonly RedisBackOff gate;
    private readonly TimeProvider timeProvider;
    private readonly CacheMetrics metrics;
    private readonly ILogger logger;

    public RedisCacheStore(IConnectionMultiplexer redis, CacheOptions options, TimeProvider timeProvider, CacheMetrics metrics, ILogger<RedisCacheStore> logger)
    {
        this.redis = redis;
        operationTimeout = options.OperationTimeout;
        backOff = options.BackOff;
        gate = new RedisBackOff(options.BackOff, timeProvider);
        this.timeProvider = timeProvider;
        this.metrics = metrics;
        this.logger = logger;
    }

    public string Name => "redis";

    /// <summary>True while Redis is in use; false inside a back-off window after a failure.</summary>
    public bool IsInUse => gate.IsInUse;

    public async ValueTask<StoreRead> GetAsync(string key, CancellationToken cancellationToken)
    {
        if (!TryEnter())
        {
            return StoreRead.Unavailable;
        }

        try
        {
            var database = Database();
            if (database is null)
            {
                return StoreRead.Unavailable;
            }

            var value = await Bounded(database.StringGetAsync(key), cancellationToken).ConfigureAwait(false);
            MarkInUse();
            return value.IsNull ? StoreRead.Absent : StoreRead.Found((byte[])value!);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Any failure of the cache is a miss, never the caller's error (the cache, and only the cache, fails open).
            MarkUnavailable("read failed", ex);
            return StoreRead.Unavailable;
        }
    }

    public async ValueTask<bool> SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (!TryEnter())
        {
            return false;
        }

        try
        {
            var database = Database();
            if (database is null)
            {
                return false;
            }

            // SE.Redis truncates the expiry to whole milliseconds (SET … PX), so the stored TTL never exceeds ttl.
            await Bounded(database.StringSetAsync(key, value, ttl), cancellationToken).ConfigureAwait(false);
            MarkInUse();
            return true;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            MarkUnavailable("write failed", ex);
            return false;
        }
    }

    public async ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        if (!TryEnter())
        {
            return false;
        }

        try
        {
            var database = Database();
            if (database is null)
            {
                return false;
            }

            await Bounded(database.KeyDeleteAsync(key), cancellationToken).ConfigureAwait(false);
            MarkInUse();
            return true;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            MarkUnavailable("delete failed", ex);
            return false;
        }
    }

    public async ValueTask<HealthCheckResult> CheckHealthAsync(CancellationToken cancellationToken)
    {
        var data = new Dictionary<string, object> { ["store"] = Name };
        var degraded = HealthCheckResult.Degraded($"Redis is unavailable: answers are served live and Redis is retried every {backOff}.", data: data);
        if (!TryEnter())
        {
            return degraded;
        }

        try
        {
            var database = Database();
            if (database is null)
            {
                return degraded;
            }

            var latency = await Bounded(database.PingAsync(), cancellationToken).ConfigureAwait(false);
            MarkInUse();
            data["pingMilliseconds"] = latency.TotalMilliseconds;
            return HealthCheckResult.Healthy("Answers are cached in Redis.", data);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            MarkUnavailable("ping failed", ex);
            return degraded;
        }
    }

    private IDatabase? Database()
    {
        if (!redis.IsConnected)
        {
            // Disconnected: fail now instead of trying the dead socket; the multiplexer keeps reconnecting.
            MarkUnavailable("not connected", null);
            return null;
        }

        return redis.GetDatabase();
    }

    private Task<T> Bounded<T>(Task<T> operation, CancellationToken cancellationToken) =>
        RedisBackOff.Bounded(operation, operationTimeout, timeProvider, cancellationToken);

    private bool TryEnter() => gate.TryEnter();

    private void MarkInUse()
    {
        if (gate.MarkInUse() is { } outage)
        {
            Log.RedisRecovered(logger, outage);
        }
    }

    private void MarkUnavailable(string reason, Exception? exception)
    {
        metrics.StoreFailed(Name);
        if (gate.MarkUnavailable())
        {
            Log.RedisUnavailable(logger, reason, backOff, exception);
        }
    }
}
