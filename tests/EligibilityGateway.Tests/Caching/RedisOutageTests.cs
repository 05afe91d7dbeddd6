using EligibilityGateway.Tests.Infrastructure;
using System.Diagnostics;
using System.Net;
using EligibilityGateway.Caching;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.TrustFramework;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EligibilityGateway.Tests.Caching;

/// <summary>With Redis gone the cache fails open, quickly and quietly, and comes back by itself.</summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    private RedisServer redis = null!;

    public async Task InitializeAsync() => redis = await RedisServer.StartNewAsync();

    public async Task DisposeAsync() => await redis.DisposeAsync();

    private static CachedAnswer Answer() =>
        new(Outcome.Eligible, ["dwp"], TimeProvider.System.GetUtcNow(), TimeProvider.System.GetUtcNow().AddHours(1));

    [Fact]
    public async Task Get_WhileRedisIsStopped_MissesWithinATenthOfASecondAndSetIsSkippedWithoutException()
    {
        await using var cache = await new CacheUnderTest(redis.Endpoint, settings: new Dictionary<string, string?> { ["Cache:BackOff"] = "00:00:00.200" }).ReadyAsync();
        var key = cache.KeyFor(Fixtures.Smith);
        await cache.Cache.SetAsync(key, Answer(), TimeSpan.FromMinutes(5), CancellationToken.None);
        (await cache.Cache.GetAsync(key, CancellationToken.None)).Should().NotBeNull();

        await redis.StopAsync();
        (await cache.Cache.GetAsync(key, CancellationToken.None)).Should().BeNull("the first read after the outage fails within the operation timeout");

        // A second of traffic spans several back-off windows, so it includes the single attempts that find Redis still away.
        var slowest = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(1))
        {
            var call = Stopwatch.StartNew();
            var answer = await cache.Cache.GetAsync(key, CancellationToken.None);
            await cache.Cache.SetAsync(key, Answer(), TimeSpan.FromMinutes(5), CancellationToken.None);
            call.Stop();
            answer.Should().BeNull();
            slowest = call.Elapsed > slowest ? call.Elapsed : slowest;
            await Task.Delay(10);
        }

        slowest.Should().BeLessThan(TimeSpan.FromMilliseconds(100));
        cache.Counters.Get(CacheMetrics.LookupsName, "unavailable").Should().BeGreaterThan(10);
        cache.Counters.Get(CacheMetrics.WritesName, "skipped").Should().BeGreaterThan(10);
        cache.Counters.Get(CacheMetrics.StoreFailuresName).Should().BeGreaterThan(0);
        (await cache.Store.CheckHealthAsync(CancellationToken.None)).Status.Should().Be(HealthStatus.Degraded);
    }

    [Fact]
    public async Task Get_AfterRedisReturns_HitsAgainWithinTenSecondsWithDefaultSettings()
    {
        await using var cache = await new CacheUnderTest(redis.Endpoint).ReadyAsync();
        var key = cache.KeyFor(Fixtures.Taylor);
        await redis.StopAsync();
        (await cache.Cache.GetAsync(key, CancellationToken.None)).Should().BeNull();

        await redis.StartAsync();
        var back = Stopwatch.StartNew();
        CachedAnswer? hit = null;
        while (hit is null && back.Elapsed < TimeSpan.FromSeconds(10))
        {
            // What a gateway under load does: each check reads, misses, answers live and writes.
            await cache.Cache.SetAsync(key, Answer(), TimeSpan.FromMinutes(5), CancellationToken.None);
            hit = await cache.Cache.GetAsync(key, CancellationToken.None);
            await Task.Delay(50);
        }

        hit.Should().NotBeNull($"cache hits resume within 10 s of Redis returning; waited {back.Elapsed}");
        (await cache.Store.CheckHealthAsync(CancellationToken.None)).Status.Should().Be(HealthStatus.Healthy);
    }

    [Fact]
    public async Task AnOutageUnderLoad_IsLoggedOnceWhenItStartsAndOnceWhenItEnds()
    {
        await using var cache = await new CacheUnderTest(redis.Endpoint, settings: new Dictionary<string, string?> { ["Cache:BackOff"] = "00:00:00.100" }).ReadyAsync();
        var key = cache.KeyFor(Fixtures.Jones);

        await redis.StopAsync();
        for (var i = 0; i < 50; i++)
        {
            await cache.Cache.GetAsync(key, CancellationToken.None);
            await cache.Cache.SetAsync(key, Answer(), TimeSpan.FromMinutes(5), CancellationToken.None);
            await Task.Delay(10);
        }

        await redis.StartAsync();
        var back = Stopwatch.StartNew();
        while (await cache.Cache.GetAsync(key, CancellationToken.None) is null && back.Elapsed < TimeSpan.FromSeconds(10))
        {
            await cache.Cache.SetAsync(key, Answer(), TimeSpan.FromMinutes(5), CancellationToken.None);
            await Task.Delay(20);
        }

        var entries = cache.Logs.Entries.ToList();
        var mac = key.Value[CacheKeys.AnswerKeyPrefix.Length..];
        // Once per change of state, never per request: the 100 failed calls above are one outage. A reconnecting
        // multiplexer can flap (connected, then not, then connected) as the server comes back, and each change is
        // reported, so allow that; but every reported outage is ended by a reported recovery.
        var outages = entries.Where(e => e.EventId.Id == 1402).ToList();
        outages.Should().NotBeEmpty().And.HaveCountLessThanOrEqualTo(3);
        outages.Should().OnlyContain(e => e.Level == LogLevel.Warning);
        entries.Count(e => e.EventId.Id == 1403).Should().Be(outages.Count);
        entries.Should().NotContain(e => e.Message.Contains(key.Value, StringComparison.Ordinal) || e.Message.Contains(mac, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadinessOverHttp_WhileRedisIsStopped_IsDegradedButReady_AndHealthyAgainWhenItReturns()
    {
        using var keys = new TemporaryKeyRing();
        await using var app = TestGateway.Build(keys.Directory, new Dictionary<string, string?>
        {
            ["Cache:Redis"] = redis.Endpoint,
            ["Cache:BackOff"] = "00:00:00.200",
        });
        using var client = new HttpClient { BaseAddress = await app.StartOnFreePortAsync() };

        (await WaitForReadinessAsync(client, "Healthy")).Should().Be(HttpStatusCode.OK);
        await redis.StopAsync();
        (await WaitForReadinessAsync(client, "Degraded")).Should().Be(HttpStatusCode.OK, "Redis down is degraded, not unready");
        await redis.StartAsync();
        (await WaitForReadinessAsync(client, "Healthy")).Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Gateway_StartedWhileRedisIsDown_StartsAndServesDegraded_ThenUsesRedisAndItsChannelsOnceItStarts()
    {
        await redis.StopAsync();
        using var keys = new TemporaryKeyRing();
        await using var app = TestGateway.Build(keys.Directory, new Dictionary<string, string?> { ["Cache:Redis"] = redis.Endpoint });

        var starting = Stopwatch.StartNew();
        using var client = new HttpClient { BaseAddress = await app.StartOnFreePortAsync() };
        starting.Stop();

        starting.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "a Redis that is down does not hold up start-up");
        (await WaitForReadinessAsync(client, "Degraded")).Should().Be(HttpStatusCode.OK);
        var channel = app.Services.GetRequiredService<RedisRevocationChannel>();
        channel.IsSubscribed.Should().BeFalse();

        await redis.StartAsync();
        (await WaitForReadinessAsync(client, "Healthy")).Should().Be(HttpStatusCode.OK);
        var subscribed = Stopwatch.StartNew();
        while (!channel.IsSubscribed && subscribed.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(50);
        }

        channel.IsSubscribed.Should().BeTrue("the subscription asked for while Redis was down is made once it connects");
    }

    private static async Task<HttpStatusCode> WaitForReadinessAsync(HttpClient client, string expected)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
            var body = await response.Content.ReadAsStringAsync();
            if (body == expected)
            {
                return response.StatusCode;
            }

            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), $"/health/ready should say {expected}; it says {body} ({(int)response.StatusCode})");
            await Task.Delay(50);
        }
    }
}
