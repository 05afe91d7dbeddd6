using System.Globalization;
using EligibilityGateway.Caching;
using EligibilityGateway.Checks;
using EligibilityGateway.Testing;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace EligibilityGateway.Tests.Checks;

/// <summary>
/// The shared rate limit on a real Redis, limiter by limiter: blocks of permits reserved by replicas never add up to
/// more than the limit, small limits are counted check by check, a replica's block ends with the window, and a check
/// costs a fraction of a Redis round trip under a large limit (README.md, "Rate limits").
/// </summary>
public sealed class CheckRateLimiterTests : IAsyncLifetime
{
    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);
    private RedisServer redis = null!;
    private ConnectionMultiplexer admin = null!;

    public async Task InitializeAsync()
    {
        redis = await RedisServer.StartNewAsync();
        admin = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint + ",allowAdmin=true");
    }

    public async Task DisposeAsync()
    {
        await admin.DisposeAsync();
        await redis.DisposeAsync();
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(127, 1)]
    [InlineData(128, 2)]
    [InlineData(1000, 15)]
    [InlineData(4096, 64)]
    [InlineData(100000, 64)]
    public void BlockSize_IsA64thOfTheLimit_FromOneToSixtyFour(int limit, int block) =>
        CheckRateLimiter.BlockSize(limit).Should().Be(block);

    [Fact]
    public async Task BlockLimit_TwoLimitersUnderConcurrentLoad_GrantExactlyTheLimitBetweenThem()
    {
        var limit = new RateLimit(1000, Hour);
        using var first = await LimiterAsync();
        using var second = await LimiterAsync();
        var before = await RoundTripsAsync();

        // 2 x 32 callers each take permits until refused, so every permit either replica reserved is used up too.
        var granted = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => TakeUntilRefusedAsync(i % 2 == 0 ? first.Limiter : second.Limiter, "bradford", limit))));

        granted.Sum().Should().Be(1000, "the two replicas share one limit, whole blocks or not");
        var roundTrips = await RoundTripsAsync() - before;
        roundTrips.Should().BeLessThanOrEqualTo(1000 / 15 + 1 + 2, "66 blocks of 15 and the last 10 permits, then at most one refusal per replica, which it keeps until the window ends");
        (await CounterAsync("bradford", limit)).Should().BeGreaterThanOrEqualTo(1000);
    }

    [Fact]
    public async Task SmallLimit_BlocksOfOne_LeaveNoPermitStrandedInAnotherReplica()
    {
        var limit = new RateLimit(100, Hour);
        using var first = await LimiterAsync();
        using var second = await LimiterAsync();

        (await first.Limiter.TryAcquireAsync("calderdale", "free-school-meals", limit, CancellationToken.None)).Acquired.Should().BeTrue();
        var secondGranted = await TakeUntilRefusedAsync(second.Limiter, "calderdale", limit);

        secondGranted.Should().Be(99, "a block of one reserves nothing beyond the check that asked");
        (await first.Limiter.TryAcquireAsync("calderdale", "free-school-meals", limit, CancellationToken.None)).Acquired.Should().BeFalse();
        (await CounterAsync("calderdale", limit)).Should().Be(102, "each check asked Redis once, for a block of one");
    }

    [Fact]
    public async Task BlockLimit_UnusedPermitsOfAnotherReplica_RefuseThisOneEarly_ByLessThanOneBlock()
    {
        var limit = new RateLimit(1000, Hour);
        using var first = await LimiterAsync();
        using var second = await LimiterAsync();

        (await first.Limiter.TryAcquireAsync("kirklees", "free-school-meals", limit, CancellationToken.None)).Acquired.Should().BeTrue();
        var secondGranted = await TakeUntilRefusedAsync(second.Limiter, "kirklees", limit);
        var firstGranted = 1 + await TakeUntilRefusedAsync(first.Limiter, "kirklees", limit);

        secondGranted.Should().Be(1000 - 15, "the first replica holds the rest of its block of 15");
        firstGranted.Should().Be(15);
    }

    [Fact]
    public async Task BlockLimit_ManyCallersOnOneReplica_AskRedisOncePerBlock()
    {
        var limit = new RateLimit(100000, Hour);
        using var gateway = await LimiterAsync();
        var before = await RoundTripsAsync();

        var granted = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            var count = 0;
            for (var i = 0; i < 100; i++)
            {
                count += (await gateway.Limiter.TryAcquireAsync("leeds", "free-school-meals", limit, CancellationToken.None)).Acquired ? 1 : 0;
            }

            return count;
        })));

        granted.Sum().Should().Be(3200);
        (await RoundTripsAsync() - before).Should().Be(3200 / 64, "one ask in flight per partition, each for a block of 64");
        (await CounterAsync("leeds", limit)).Should().Be(3200);
    }

    [Fact]
    public async Task Reservation_EndsWithTheWindow_NotBeforeAndNotAfter()
    {
        var clock = new FakeTimeProvider();
        var limit = new RateLimit(1000, TimeSpan.FromSeconds(10));
        using var gateway = await LimiterAsync(clock);
        var before = await RoundTripsAsync();

        (await gateway.Limiter.TryAcquireAsync("wakefield", "free-school-meals", limit, CancellationToken.None)).Acquired.Should().BeTrue();
        clock.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromMilliseconds(1));
        (await gateway.Limiter.TryAcquireAsync("wakefield", "free-school-meals", limit, CancellationToken.None)).Acquired.Should().BeTrue();
        (await RoundTripsAsync() - before).Should().Be(1, "the second check takes a permit of the first block, inside its window");

        // The window is over: Redis begins the next one, and the 13 permits left of the last block are not used in it.
        await admin.GetDatabase().KeyDeleteAsync(Key("wakefield", limit));
        clock.Advance(TimeSpan.FromMilliseconds(1));
        (await gateway.Limiter.TryAcquireAsync("wakefield", "free-school-meals", limit, CancellationToken.None)).Acquired.Should().BeTrue();

        (await RoundTripsAsync() - before).Should().Be(2, "a new window needs a new block");
        (await CounterAsync("wakefield", limit)).Should().Be(15, "the new window's count starts with this replica's new block");
    }

    [Fact]
    public async Task UsedUpWindow_IsRefusedLocally_WithTheTimeLeft_UntilItEnds()
    {
        var clock = new FakeTimeProvider();
        var limit = new RateLimit(1000, TimeSpan.FromMinutes(1));
        using var gateway = await LimiterAsync(clock);
        var before = await RoundTripsAsync();

        (await TakeUntilRefusedAsync(gateway.Limiter, "leeds", limit)).Should().Be(1000);
        var roundTrips = await RoundTripsAsync() - before;
        roundTrips.Should().Be(67, "66 blocks of 15, then the last 10 permits, which tell the replica the window is used up");

        clock.Advance(TimeSpan.FromSeconds(20));
        var refused = await gateway.Limiter.TryAcquireAsync("leeds", "free-school-meals", limit, CancellationToken.None);
        refused.Acquired.Should().BeFalse();
        refused.RetryAfter.Should().BeGreaterThan(TimeSpan.FromSeconds(30)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(40), "the window began with the first block, 20 s ago");
        (await RoundTripsAsync() - before).Should().Be(roundTrips, "a used-up window is refused without asking Redis");

        await admin.GetDatabase().KeyDeleteAsync(Key("leeds", limit));
        clock.Advance(TimeSpan.FromSeconds(40));
        (await gateway.Limiter.TryAcquireAsync("leeds", "free-school-meals", limit, CancellationToken.None)).Acquired.Should().BeTrue("the next window has its own limit");
    }

    [Fact]
    public async Task NewLimit_AfterAReload_StartsAFreshPartition()
    {
        using var gateway = await LimiterAsync();
        var old = new RateLimit(200, Hour);
        (await TakeUntilRefusedAsync(gateway.Limiter, "york", old)).Should().Be(200);

        (await gateway.Limiter.TryAcquireAsync("york", "free-school-meals", new RateLimit(300, Hour), CancellationToken.None)).Acquired.Should().BeTrue();
        (await CounterAsync("york", new RateLimit(300, Hour))).Should().Be(CheckRateLimiter.BlockSize(300));
    }

    [Fact]
    public async Task RedisGone_WhileAReplicaHoldsABlock_ItsPermitsAreUsed_ThenTheReplicaCountsInMemory()
    {
        var limit = new RateLimit(1000, Hour);
        using var gateway = await LimiterAsync();
        (await gateway.Limiter.TryAcquireAsync("barnsley", "free-school-meals", limit, CancellationToken.None)).Acquired.Should().BeTrue();

        await redis.StopAsync();
        var granted = await TakeUntilRefusedAsync(gateway.Limiter, "barnsley", limit);

        granted.Should().Be(14 + 1000, "the 14 permits left of the block Redis granted, then the whole limit in this replica's memory");
    }

    private static async Task<int> TakeUntilRefusedAsync(CheckRateLimiter limiter, string council, RateLimit limit)
    {
        var granted = 0;
        while ((await limiter.TryAcquireAsync(council, "free-school-meals", limit, CancellationToken.None)).Acquired)
        {
            granted++;
        }

        return granted;
    }

    private async Task<Gateway> LimiterAsync(TimeProvider? clock = null)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        // A loaded test machine can stretch one Redis command past the default 250 ms, and that check would then be
        // counted in memory instead; Redis failing is not these tests' case.
        var options = new CacheOptions { Redis = redis.Endpoint, OperationTimeout = TimeSpan.FromSeconds(5) };
        return new Gateway(connection, new CheckRateLimiter(connection, options, clock ?? TimeProvider.System, NullLogger<CheckRateLimiter>.Instance));
    }

    private static string Key(string council, RateLimit limit) =>
        string.Create(CultureInfo.InvariantCulture, $"{CheckRateLimiter.KeyPrefix}{council}:free-school-meals:{limit.Limit}:{(long)limit.Window.TotalMilliseconds}");

    private async Task<long> CounterAsync(string council, RateLimit limit) => (long)await admin.GetDatabase().StringGetAsync(Key(council, limit));

    /// <summary>Scripts Redis has run so far (EVAL and EVALSHA): one per round trip of the limiter.</summary>
    private async Task<long> RoundTripsAsync()
    {
        var info = await admin.GetServer(redis.Endpoint).InfoAsync("commandstats");
        return info.SelectMany(group => group)
            .Where(pair => pair.Key is "cmdstat_eval" or "cmdstat_evalsha")
            .Sum(pair => long.Parse(pair.Value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture));
    }

    private sealed record Gateway(ConnectionMultiplexer Connection, CheckRateLimiter Limiter) : IDisposable
    {
        public void Dispose()
        {
            Limiter.Dispose();
            Connection.Dispose();
        }
    }
}
