using System.Collections.Immutable;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Caching;
using EligibilityGateway.Checks;
using EligibilityGateway.Consents;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace EligibilityGateway.Tests.Caching;

/// <summary>
/// The cache's part of the revocation cascade (Caching/README.md): the answer cached under a revoked consent is deleted
/// from either store, and with Redis every other replica learns of the revocation over pub/sub within a second,
/// with nothing but ids on the channel.
/// </summary>
public sealed class ConsentRevocationPurgeTests : IAsyncLifetime
{
    private RedisServer redis = null!;

    public async Task InitializeAsync() => redis = await RedisServer.StartNewAsync();

    public async Task DisposeAsync() => await redis.DisposeAsync();

    private static CachedAnswer Answer() =>
        new(Outcome.Eligible, ["dwp"], TimeProvider.System.GetUtcNow(), TimeProvider.System.GetUtcNow().AddHours(1));

    private static ConsentRevoked Notice(string consentId, CacheKey? key) =>
        new(consentId, "leeds", "free-school-meals", "sr1:reference", key, ConsentRevoker.Citizen, TimeProvider.System.GetUtcNow());

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Purge_OnRevocation_DeletesTheAnswerCachedUnderTheConsent_AndNoOther(bool useRedis)
    {
        var cache = new CacheUnderTest(useRedis ? redis.Endpoint : null);
        await using (cache)
        {
            await cache.ReadyAsync();
            var consentId = Guid.NewGuid().ToString();
            var underConsent = cache.KeyFor(Fixtures.Smith, consent: consentId);
            var publicTask = cache.KeyFor(Fixtures.Smith);
            await cache.Cache.SetAsync(underConsent, Answer(), TimeSpan.FromMinutes(5), CancellationToken.None);
            await cache.Cache.SetAsync(publicTask, Answer(), TimeSpan.FromMinutes(5), CancellationToken.None);
            var purge = cache.Services.GetServices<IConsentRevocationObserver>().OfType<ConsentRevocationPurge>().Single();

            await purge.OnConsentRevokedAsync(Notice(consentId, underConsent), CancellationToken.None);

            (await cache.Cache.GetAsync(underConsent, CancellationToken.None)).Should().BeNull();
            (await cache.Cache.GetAsync(publicTask, CancellationToken.None)).Should().NotBeNull("only the answer under the revoked consent goes");
            cache.Services.GetRequiredService<RevokedConsents>().IsRevoked(consentId).Should().BeTrue();
            cache.Logs.Entries.Should().Contain(e => e.EventId.Id == 1410);
        }
    }

    [Fact]
    public async Task Purge_WhileRedisIsDown_FailsOpenWithoutException_AndLogsIt()
    {
        await using var cache = await new CacheUnderTest(redis.Endpoint).ReadyAsync();
        var consentId = Guid.NewGuid().ToString();
        var key = cache.KeyFor(Fixtures.Smith, consent: consentId);
        await redis.StopAsync();
        var purge = cache.Services.GetServices<IConsentRevocationObserver>().OfType<ConsentRevocationPurge>().Single();

        var clock = Stopwatch.StartNew();
        await purge.OnConsentRevokedAsync(Notice(consentId, key), CancellationToken.None);

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(1), "an unreachable Redis costs at most its operation timeout");
        (await cache.Store.DeleteAsync(key.Value, CancellationToken.None)).Should().BeFalse();
        cache.Logs.Entries.Should().Contain(e => e.EventId.Id == 1411);
        cache.Services.GetRequiredService<RevokedConsents>().IsRevoked(consentId).Should().BeTrue("this replica still knows");
    }

    [Fact]
    public async Task Revocation_OnOneGateway_IsKnownToAnotherSharingRedis_WithinOneSecond_WithOnlyIdsOnTheChannel()
    {
        var first = await StartGatewayAsync();
        var second = await StartGatewayAsync();
        await using var firstGateway = first.App;
        await using var secondGateway = second.App;
        try
        {
            var secondChannel = second.App.Services.GetRequiredService<RedisRevocationChannel>();
            await WaitUntilAsync(() => secondChannel.IsSubscribed && first.App.Services.GetRequiredService<RedisRevocationChannel>().IsSubscribed, TimeSpan.FromSeconds(5));

            using var watcher = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
            var messages = new System.Collections.Concurrent.ConcurrentQueue<string>();
            await watcher.GetSubscriber().SubscribeAsync(RedisChannel.Literal(RedisRevocationChannel.Channel), (_, value) => messages.Enqueue(value.ToString()));

            var consentId = await CreateConsentAsync(first.Address);
            var consents = first.App.Services.GetRequiredService<ConsentService>();
            (await consents.AuthoriseAsync(consentId, Fixtures.Smith, "smith")).Should().BeOfType<ConsentChange.Made>();
            var learnt = second.App.Services.GetRequiredService<RevokedConsents>();
            learnt.IsRevoked(consentId).Should().BeFalse();

            var clock = Stopwatch.StartNew();
            (await consents.RevokeAsync(consentId, ConsentRevoker.Citizen)).Should().BeOfType<ConsentChange.Made>();
            await WaitUntilAsync(() => learnt.IsRevoked(consentId), TimeSpan.FromSeconds(1));
            clock.Stop();

            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(1));
            learnt.Find(consentId)!.AnnouncedByAnotherReplica.Should().BeTrue();
            learnt.Find(consentId)!.CouncilId.Should().Be("leeds");
            await WaitUntilAsync(() => !messages.IsEmpty, TimeSpan.FromSeconds(1));
            using var message = JsonDocument.Parse(messages.Single());
            message.RootElement.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo(["consentId", "councilId", "replicaId"]);
            message.RootElement.GetProperty("consentId").GetString().Should().Be(consentId);
            foreach (var personal in EndToEnd.Subjects.PersonalData)
            {
                messages.Single().Should().NotContainEquivalentOf(personal);
            }

            messages.Single().Should().NotContain("sr1:", "not even the subject reference goes on the channel");
        }
        finally
        {
            Directory.Delete(first.DataDirectory, recursive: true);
            Directory.Delete(second.DataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Subscription_SurvivesARedisRestart_AndRevocationsArriveAgain()
    {
        var first = await StartGatewayAsync();
        var second = await StartGatewayAsync();
        await using var firstGateway = first.App;
        await using var secondGateway = second.App;
        try
        {
            var firstChannel = first.App.Services.GetRequiredService<RedisRevocationChannel>();
            var secondChannel = second.App.Services.GetRequiredService<RedisRevocationChannel>();
            await WaitUntilAsync(() => firstChannel.IsSubscribed && secondChannel.IsSubscribed, TimeSpan.FromSeconds(5));

            await redis.StopAsync();
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            await redis.StartAsync();
            var learnt = second.App.Services.GetRequiredService<RevokedConsents>();
            var consentId = Guid.NewGuid().ToString();

            // Announce until the second replica hears it: both have to reconnect and re-subscribe by themselves.
            await WaitUntilAsync(
                () =>
                {
                    _ = firstChannel.PublishAsync(consentId, "leeds", CancellationToken.None).AsTask();
                    return learnt.IsRevoked(consentId);
                },
                TimeSpan.FromSeconds(15));

            learnt.IsRevoked(consentId).Should().BeTrue();
        }
        finally
        {
            Directory.Delete(first.DataDirectory, recursive: true);
            Directory.Delete(second.DataDirectory, recursive: true);
        }
    }

    private async Task<(WebApplication App, Uri Address, string DataDirectory)> StartGatewayAsync()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("egw-purge-").FullName;
        var app = TestGateway.Build(dataDirectory, new Dictionary<string, string?> { ["Cache:Redis"] = redis.Endpoint });
        return (app, await app.StartWithRedisConnectedAsync(), dataDirectory);
    }

    private static async Task<string> CreateConsentAsync(Uri gateway)
    {
        using var http = new HttpClient { BaseAddress = gateway };
        var token = await SandboxClients.TokenAsync(http, gateway, scope: "consents.manage");
        using var create = new HttpRequestMessage(HttpMethod.Post, "/v1/consents")
        {
            Content = new StringContent("""{"scheme":"free-school-meals","caseReference":"FSM-PURGE-1"}""", Encoding.UTF8, "application/json"),
        };
        create.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(create);
        response.StatusCode.Should().Be(HttpStatusCode.Created);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("consentId").GetString()!;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan within)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > within)
            {
                throw new TimeoutException($"Not true within {within}.");
            }

            await Task.Delay(10);
        }
    }
}
