using System.Collections.Concurrent;
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
/// council's allowance: one atomic script takes a block of permits from it (<see cref="BlockSize"/>, one for limits
/// under 128), starts its window (the key's expiry) on the first block and returns the permits granted and the time
/// left. This replica hands a block out locally until it is used up or the window ends, so a large limit costs one
/// Redis round trip per block rather than per check, and a window that is used up is refused locally until it ends.
/// When Redis fails, this replica counts in its own memory until Redis answers again (after <c>Cache:BackOff</c>), so
/// checks are never refused, nor left unlimited, because Redis is away (README.md, "Rate limits").
/// </summary>
internal sealed class CheckRateLimiter : IDisposable
{
    /// <summary>Keys are <c>egw:rate:v1:{council}:{scheme}:{limit}:{window ms}</c>: ids from the trust framework, nothing personal.</summary>
    public const string KeyPrefix = "egw:rate:v1:";

    /// <summary>The largest block of permits one replica reserves at a time.</summary>
    public const int MaxBlockSize = 64;

    // KEYS[1]: the window's counter; ARGV[1]: the window (ms); ARGV[2]: the block asked for; ARGV[3]: the limit.
    // The counter counts permits asked for, granted or not. A new counter has no expiry (PTTL -1), so the first block
    // of a window starts it; a counter without an expiry for any other reason (never expected) gets one too, so it
    // cannot count forever. Of the block, only what was still under the limit before it is granted, so the permits
    // granted in one window, summed over every replica, never exceed the limit. Returns {granted, ms left}.
    private const string AcquireScript = """
        local block = tonumber(ARGV[2])
        local count = redis.call('INCRBY', KEYS[1], block)
        local left = redis.call('PTTL', KEYS[1])
        if left < 0 then
          redis.call('PEXPIRE', KEYS[1], ARGV[1])
          left = tonumber(ARGV[1])
        end
        local granted = tonumber(ARGV[3]) - (count - block)
        if granted > block then granted = block end
        if granted < 0 then granted = 0 end
        return {granted, left}
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

    // One per (council, scheme, limit) this replica has checked against: as many as the trust frameworks it has
    // loaded have permissions, a few hundred bytes each, so they are kept rather than swept.
    private readonly ConcurrentDictionary<Partition, Reservation> reservations = new();
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

    /// <summary>
    /// How many permits one replica takes from Redis at a time for <paramref name="limit"/>: a 64th of it, from 1 to
    /// <see cref="MaxBlockSize"/>, so limits under 128 are counted check by check. Permits another replica holds
    /// unused can refuse this one early, by at most (block − 1) per other replica per window (README.md, "Rate limits").
    /// </summary>
    public static int BlockSize(int limit) => Math.Clamp(limit / 64, 1, MaxBlockSize);

    /// <summary>Takes one permit; when none is left, says how long until the window turns.</summary>
    public async ValueTask<RateLimitDecision> TryAcquireAsync(string councilId, string schemeId, RateLimit limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limit);
        var partition = new Partition(councilId, schemeId, limit);
        if (redis is null)
        {
            return AcquireInProcess(partition);
        }

        var reservation = reservations.GetOrAdd(partition, static p => new Reservation(p));
        while (true)
        {
            TaskCompletionSource<RateLimitDecision?>? asking = null;
            Task<RateLimitDecision?>? inFlight;
            lock (reservation)
            {
                var now = timeProvider.GetTimestamp();
                if (now < reservation.WindowEnd)
                {
                    if (reservation.Left > 0)
                    {
                        reservation.Left--;
                        return RateLimitDecision.Allow;
                    }

                    if (reservation.UsedUp)
                    {
                        return Refused(now, reservation.WindowEnd);
                    }
                }

                // One block in flight per partition: the others wait for it, then share it or ask for the next one.
                // Blocks of one are not shared (Asking stays null): each such check asks on its own, as many at once as
                // arrive, so that a burst against a small limit does not queue behind one round trip after another.
                inFlight = reservation.Asking;
                if (inFlight is null)
                {
                    if (!redis.IsConnected || !gate.TryEnter())
                    {
                        break;
                    }

                    if (reservation.Block > 1)
                    {
                        asking = new TaskCompletionSource<RateLimitDecision?>(TaskCreationOptions.RunContinuationsAsynchronously);
                        reservation.Asking = asking.Task;
                    }
                }
            }

            if (inFlight is not null)
            {
                await inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            if (asking is null)
            {
                // A block of one: this check's own round trip, given up with the check.
                if (await AskRedisAsync(reservation, redis, asking: null, cancellationToken).ConfigureAwait(false) is { } own)
                {
                    return own;
                }

                break;
            }

            // The block is asked for whether or not this check still waits for it: others may. The ask is bounded by
            // Cache:OperationTimeout, so it ends soon either way.
            if (await AskRedisAsync(reservation, redis, asking, CancellationToken.None).WaitAsync(cancellationToken).ConfigureAwait(false) is { } shared)
            {
                return shared;
            }

            break;
        }

        return AcquireInProcess(partition);
    }

    public void Dispose() => _limiter.Dispose();

    /// <summary>
    /// One block from Redis for <paramref name="reservation"/>: this check's decision, the rest of the block kept for
    /// the next checks. Null when Redis failed (this check is counted in memory instead); never throws unless
    /// <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    private async Task<RateLimitDecision?> AskRedisAsync(
        Reservation reservation, IConnectionMultiplexer connection, TaskCompletionSource<RateLimitDecision?>? asking, CancellationToken cancellationToken)
    {
        RateLimitDecision? decision = null;
        try
        {
            // The window's end as Redis measured it, counted from before the ask was sent: never later than the real
            // end, so that no permit of this block is handed out once the window is over (and Redis has begun the next).
            var sent = timeProvider.GetTimestamp();
            var result = (RedisResult[])(await RedisBackOff.Bounded(
                connection.GetDatabase().ScriptEvaluateAsync(AcquireScript, reservation.Keys, reservation.Arguments), operationTimeout, timeProvider, cancellationToken).ConfigureAwait(false))!;
            if (gate.MarkInUse() is { } outage)
            {
                Log.RateLimitRedisBack(logger, outage.TotalSeconds);
            }

            var granted = (long)result[0];
            var windowEnd = sent + (long)((long)result[1] / 1000.0 * timeProvider.TimestampFrequency);
            lock (reservation)
            {
                // Unused permits of an earlier block belong to an earlier window (a check takes them while any are
                // left), so they are not carried over.
                reservation.Left = Math.Max(0, granted - 1);
                reservation.UsedUp = granted < reservation.Block;
                reservation.WindowEnd = windowEnd;
            }

            decision = granted > 0 ? RateLimitDecision.Allow : Refused(timeProvider.GetTimestamp(), windowEnd);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            if (gate.MarkUnavailable())
            {
                Log.RateLimitRedisUnavailable(logger, ex.GetType().Name);
            }
        }
        finally
        {
            if (asking is not null)
            {
                lock (reservation)
                {
                    reservation.Asking = null;
                }

                asking.TrySetResult(decision);
            }
        }

        return decision;
    }

    private RateLimitDecision Refused(long now, long windowEnd) =>
        new(false, TimeSpan.FromMilliseconds(Math.Max(1.0, Math.Ceiling(timeProvider.GetElapsedTime(now, windowEnd).TotalMilliseconds))));

    private RateLimitDecision AcquireInProcess(Partition partition)
    {
        using var lease = _limiter.AttemptAcquire(partition);
        if (lease.IsAcquired)
        {
            return RateLimitDecision.Allow;
        }

        return new RateLimitDecision(false, lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : partition.Limit.Window);
    }

    private readonly record struct Partition(string CouncilId, string SchemeId, RateLimit Limit);

    /// <summary>
    /// This replica's share of one partition's current Redis window. Guarded by its own lock: the permits left are
    /// handed out one at a time and never more than Redis granted.
    /// </summary>
    private sealed class Reservation
    {
        public Reservation(Partition partition)
        {
            var limit = partition.Limit;
            var windowMilliseconds = Math.Max(1L, (long)Math.Ceiling(limit.Window.TotalMilliseconds));
            Block = BlockSize(limit.Limit);
            Keys = [string.Create(CultureInfo.InvariantCulture, $"{KeyPrefix}{partition.CouncilId}:{partition.SchemeId}:{limit.Limit}:{windowMilliseconds}")];
            Arguments = [windowMilliseconds, Block, limit.Limit];
        }

        /// <summary>The permits asked for at a time.</summary>
        public int Block { get; }

        /// <summary>The script's KEYS and ARGV: the same for every ask, so made once.</summary>
        public RedisKey[] Keys { get; }

        public RedisValue[] Arguments { get; }

        /// <summary>Permits granted and not yet handed out; usable only before <see cref="WindowEnd"/>.</summary>
        public long Left { get; set; }

        /// <summary>Redis granted less than a block: the window is used up, and checks are refused until it ends.</summary>
        public bool UsedUp { get; set; }

        /// <summary>The TimeProvider timestamp at which the Redis window ends (at the latest).</summary>
        public long WindowEnd { get; set; } = long.MinValue;

        /// <summary>The ask for the next block, while one is in flight (blocks of more than one permit only).</summary>
        public Task<RateLimitDecision?>? Asking { get; set; }
    }
}
