using System.Net;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Caching;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Tests.Pages;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace EligibilityGateway.Tests.Authorization.Replicas;

/// <summary>
/// Two gateway replicas on their own loopback ports sharing one real <c>redis-server</c> (and one key directory, as
/// replicas do): failures spread over both meet the sign-in and client-authentication limits at the same totals as
/// on one replica, the counters in Redis name nobody, and with Redis gone each replica still throttles on its own.
/// </summary>
public sealed class ThrottleReplicaTests : IAsyncLifetime
{
    private const string NoMatch = "Enter a correct username and password";
    private const string TooMany = "You have tried to sign in too many times";

    private readonly string directory = Directory.CreateTempSubdirectory("egw-throttle-replicas-").FullName;
    private readonly CapturedLogs firstLogs = new();
    private RedisServer redis = null!;
    private WebApplication first = null!;
    private WebApplication second = null!;
    private Uri firstAddress = null!;
    private Uri secondAddress = null!;

    public async Task InitializeAsync()
    {
        redis = await RedisServer.StartNewAsync();
        (first, firstAddress) = await StartReplicaAsync("first", firstLogs);
        (second, secondAddress) = await StartReplicaAsync("second", null);
    }

    private async Task<(WebApplication, Uri)> StartReplicaAsync(string name, CapturedLogs? logs)
    {
        var app = TestGateway.Build(Directory.CreateDirectory(Path.Combine(directory, name)).FullName, new Dictionary<string, string?>
        {
            ["Cache:Redis"] = redis.Endpoint,
            // These tests count across replicas. A throttle counts in memory when a Redis command takes longer than the
            // operation timeout (250 ms by default), which a loaded test machine can stretch one command to; that
            // failure would then be missing from the shared count. Redis going away is tested below, by stopping it.
            ["Cache:OperationTimeout"] = "00:00:02",
            ["Keys:Directory"] = Path.Combine(directory, "keys"),
            ["Consents:Sqlite:Path"] = Path.Combine(directory, "consents.db"),
        }, builder =>
        {
            if (logs is not null)
            {
                builder.Logging.AddProvider(logs);
            }
        });
        return (app, await app.StartWithRedisConnectedAsync());
    }

    public async Task DisposeAsync()
    {
        foreach (var app in new[] { first, second })
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        await redis.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task SignInFailuresFromOneAddress_SplitAcrossReplicas_MeetTheAddressLimitAtTen()
    {
        using var onFirst = LoopbackSource.Client(firstAddress, LoopbackSource.Address(1));
        using var onSecond = LoopbackSource.Client(secondAddress, LoopbackSource.Address(1));
        for (var i = 0; i < 10; i++)
        {
            using var guess = await PageGateway.SignInAsync(i % 2 == 0 ? onFirst : onSecond, $"person-{i}", "Winter2026!");
            (await guess.Content.ReadAsStringAsync()).Should().Contain(NoMatch, $"failure {i + 1} is within the limit");
        }

        foreach (var replica in new[] { onFirst, onSecond })
        {
            using var refused = await PageGateway.SignInAsync(replica, "smith", PageGateway.Password);
            refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "five failures on each replica are ten on the address");
        }

        using var otherAddress = LoopbackSource.Client(secondAddress, LoopbackSource.Address(2));
        (await PageGateway.SignInAsync(otherAddress, "smith", PageGateway.Password)).StatusCode.Should().Be(HttpStatusCode.Redirect);
        await ShouldNameNobodyAsync("smith", "person-0", "127.10.0.2");
    }

    [Fact]
    public async Task SignInFailuresForOneUsername_SplitAcrossReplicasAndAddresses_MeetTheUsernameLimitAtTwenty()
    {
        for (var i = 0; i < 20; i++)
        {
            using var guesser = LoopbackSource.Client(i % 2 == 0 ? firstAddress : secondAddress, LoopbackSource.Address(10 + i));
            using var guess = await PageGateway.SignInAsync(guesser, "jones", "guess-" + i);
            (await guess.Content.ReadAsStringAsync()).Should().Contain(NoMatch, $"failure {i + 1} is within the limit").And.NotContain(TooMany);
        }

        foreach (var replica in new[] { firstAddress, secondAddress })
        {
            using var person = LoopbackSource.Client(replica, LoopbackSource.Address(100));
            using var refused = await PageGateway.SignInAsync(person, "jones", PageGateway.Password);
            refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "ten failures on each replica are twenty on the username");
        }

        await ShouldNameNobodyAsync("jones", "127.10.0.11");
    }

    [Fact]
    public async Task ClientSecretFailures_SplitAcrossReplicasAndAddresses_MeetTheClientLimitAtTwenty()
    {
        for (var i = 0; i < 20; i++)
        {
            using var guesser = LoopbackSource.Client(i % 2 == 0 ? firstAddress : secondAddress, LoopbackSource.Address(30 + i));
            using var wrong = await PostTokenAsync(guesser, SandboxClients.Leeds, "not-the-secret");
            (await wrong.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Be("Client authentication failed.", $"failure {i + 1} is within the limit");
        }

        foreach (var replica in new[] { firstAddress, secondAddress })
        {
            using var council = LoopbackSource.Client(replica, LoopbackSource.Address(200));
            using var leeds = await PostTokenAsync(council, SandboxClients.Leeds, SandboxClients.LeedsSecret);
            (await leeds.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Be(ClientAuthenticationThrottleTests.Throttled);
            leeds.Headers.RetryAfter!.Delta.Should().BeGreaterThan(TimeSpan.FromSeconds(55)).And.BeLessThanOrEqualTo(TimeSpan.FromMinutes(1));
            (await PostTokenAsync(council, SandboxClients.Camden, SandboxClients.CamdenSecret)).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        await ShouldNameNobodyAsync(SandboxClients.Leeds, "127.10.0.31");
    }

    [Fact]
    public async Task WithRedisGone_EachReplicaStillThrottlesOnItsOwn_AndSaysSoOnce()
    {
        using var onFirst = LoopbackSource.Client(firstAddress, LoopbackSource.Address(5));
        using var _ = await onFirst.GetAsync("/sign-in"); // reads the shared data-protection key ring while Redis is there
        await redis.StopAsync();

        for (var i = 0; i < 10; i++)
        {
            using var guess = await PageGateway.SignInAsync(onFirst, $"person-{i}", "Winter2026!");
            (await guess.Content.ReadAsStringAsync()).Should().Contain(NoMatch, $"failure {i + 1} is within the limit");
        }

        using var refused = await PageGateway.SignInAsync(onFirst, "smith", PageGateway.Password);
        refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "the replica counted in memory while Redis was away");
        firstLogs.Entries.Where(e => e.EventId.Id == 1216).Should().ContainSingle("an outage is logged once, not once per request")
            .Which.Message.Should().Contain("sign-in");
    }

    /// <summary>Every throttle counter in Redis is a keyed hash; no key or value holds a username, client id or address.</summary>
    private async Task ShouldNameNobodyAsync(params string[] names)
    {
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint + ",allowAdmin=true");
        var keys = connection.GetServer(redis.Endpoint).Keys(pattern: "egw:throttle:*").Select(k => (string)k!).ToList();
        keys.Should().NotBeEmpty();
        keys.Should().OnlyContain(k => k.StartsWith("egw:throttle:v1:sign-in-", StringComparison.Ordinal) || k.StartsWith("egw:throttle:v1:client-secret-", StringComparison.Ordinal));
        foreach (var key in keys)
        {
            var fields = await connection.GetDatabase().HashGetAllAsync(key);
            fields.Select(f => (string)f.Name!).Should().BeSubsetOf(["n", "u"]);
            foreach (var name in names)
            {
                key.Should().NotContainEquivalentOf(name);
            }
        }
    }

    private static Task<HttpResponseMessage> PostTokenAsync(HttpClient client, string clientId, string secret)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token") { Content = new FormUrlEncodedContent([new("grant_type", "client_credentials")]) };
        request.Headers.Authorization = AuthorizationGateway.Basic(clientId, secret);
        return client.SendAsync(request);
    }
}
