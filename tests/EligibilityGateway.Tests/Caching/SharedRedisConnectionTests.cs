using System.Xml.Linq;
using EligibilityGateway.Authorization;
using EligibilityGateway.Caching;
using EligibilityGateway.Security;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using StackExchange.Redis.Profiling;

namespace EligibilityGateway.Tests.Caching;

/// <summary>
/// One gateway, one <see cref="IConnectionMultiplexer"/> (Caching/README.md, "One Redis connection"): the answer cache,
/// the authorization server's shared state, the consent-revocation channel and the data-protection key ring all send
/// their commands through the instance registered in DI, and the gateway holds no other connection to Redis.
/// </summary>
public sealed class SharedRedisConnectionTests : IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("egw-shared-redis-").FullName;
    private RedisServer redis = null!;

    public async Task InitializeAsync() => redis = await RedisServer.StartNewAsync();

    public async Task DisposeAsync()
    {
        await redis.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    [Fact]
    public async Task TheCache_TheAuthorizationState_TheRevocationChannel_AndTheKeyRing_AllUseTheOneMultiplexerInDI()
    {
        await using var app = await StartConnectedAsync(directory, new Dictionary<string, string?> { ["Cache:Redis"] = redis.Endpoint });
        var services = app.Services;
        var multiplexer = services.GetRequiredService<IConnectionMultiplexer>();
        var profiled = new ProfiledSteps(multiplexer);

        // The answer cache.
        var store = services.GetRequiredService<ICacheStore>();
        store.Name.Should().Be("redis");
        var cache = await profiled.RunAsync(async () =>
        {
            (await store.SetAsync("egw:a1:shared-connection-test", [1, 2, 3], TimeSpan.FromMinutes(1), CancellationToken.None)).Should().BeTrue();
            (await store.GetAsync("egw:a1:shared-connection-test", CancellationToken.None)).Status.Should().Be(StoreReadStatus.Found);
        });
        cache.Should().Contain(["SETEX", "GET"]);

        // The authorization server's shared state: the consent page's decisions and used client-assertion ids.
        var state = services.GetRequiredService<SharedAuthorizationState>();
        state.Multiplexer.Should().BeSameAs(multiplexer);
        var decisions = services.GetRequiredService<IAuthorizationDecisionStore>();
        var replays = services.GetRequiredService<IClientAssertionReplayCache>();
        var expires = TimeProvider.System.GetUtcNow().AddMinutes(2);
        var authorization = await profiled.RunAsync(async () =>
        {
            await decisions.AddDecisionAsync("urn:ietf:params:oauth:request_uri:shared-connection-test", new AuthorizationDecision(new Uri("https://council.example/callback"), "smith", expires), CancellationToken.None);
            (await decisions.TakeDecisionAsync("urn:ietf:params:oauth:request_uri:shared-connection-test", TimeProvider.System.GetUtcNow(), CancellationToken.None)).Should().NotBeNull();
            (await replays.TryRecordAsync("leeds", Guid.NewGuid().ToString(), expires, CancellationToken.None)).Should().Be(ReplayCheck.FirstUse);
        });
        authorization.Should().Equal(["PSETEX", "GETDEL", "SET"], "a decision is stored and taken (GETDEL), and an assertion id recorded");

        // The consent-revocation channel: subscribed on this multiplexer, and announcing through it.
        var channel = services.GetRequiredService<RedisRevocationChannel>();
        await WaitUntilAsync(() => channel.IsSubscribed, TimeSpan.FromSeconds(5));
        multiplexer.GetSubscriber().SubscribedEndpoint(RedisChannel.Literal(RedisRevocationChannel.Channel)).Should().NotBeNull();
        var pubSub = await profiled.RunAsync(async () => (await channel.PublishAsync(Guid.NewGuid().ToString(), "leeds", CancellationToken.None)).Should().NotBeNull());
        pubSub.Should().Contain("PUBLISH");

        // The data-protection key ring: Microsoft's repository, reading and writing through the same multiplexer.
        var keyManagement = services.GetRequiredService<IOptions<KeyManagementOptions>>().Value;
        keyManagement.XmlRepository.Should().BeOfType<Microsoft.AspNetCore.DataProtection.StackExchangeRedis.RedisXmlRepository>();
        var keyManager = services.GetRequiredService<IKeyManager>();
        var keyRing = profiled.Run(() =>
        {
            keyManager.CreateNewKey(TimeProvider.System.GetUtcNow(), TimeProvider.System.GetUtcNow().AddDays(90));
            keyManager.GetAllKeys().Should().NotBeEmpty();
        });
        keyRing.Should().Contain(["RPUSH", "LRANGE"]);

        // The gateway holds two connections, both this multiplexer's: commands, and pub/sub.
        using var admin = await ConnectionMultiplexer.ConnectAsync($"{redis.Endpoint},allowAdmin=true,name=shared-connection-test");
        var clients = await admin.GetServer(redis.Endpoint).ClientListAsync();
        clients.Where(c => c.Name == RedisConnection.ClientName).Should().HaveCount(2, string.Join("; ", clients.Select(c => c.Raw)));
    }

    [Fact]
    public async Task DataProtectionKeys_LandInRedisUnderTheConfiguredKey_WithTheirSecretSealed()
    {
        await using var app = await StartConnectedAsync(directory, new Dictionary<string, string?> { ["Cache:Redis"] = redis.Endpoint });
        var protector = app.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("shared-connection-test");
        var protectedPayload = protector.Protect("payload");

        using var reader = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var stored = await reader.GetDatabase().ListRangeAsync(SharedStateServiceCollectionExtensions.DataProtectionKeysRedisKey);

        stored.Should().NotBeEmpty("the key ring lives in Redis under egw:data-protection-keys:v2");
        foreach (var element in stored.Select(value => XElement.Parse((string)value!)))
        {
            element.Name.LocalName.Should().Be("key");
            element.Descendants().Should().NotContain(e => e.Name.LocalName == "masterKey", "the key material is sealed");
            var secret = element.Descendants().Single(e => e.Name.LocalName == "encryptedSecret");
            secret.Attribute("decryptorType")!.Value.Should().StartWith(typeof(SealedXmlDecryptor).FullName + ",");
            secret.Elements().Single().Name.Should().Be(SealedXmlEncryptor.ElementName);
        }

        // A second gateway on the same Redis and key directory opens what the first protected, from the stored ring.
        await using var other = await StartConnectedAsync(Directory.CreateDirectory(Path.Combine(directory, "other")).FullName, new Dictionary<string, string?>
        {
            ["Cache:Redis"] = redis.Endpoint,
            ["Keys:Directory"] = Path.Combine(directory, "keys"),
        });
        other.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("shared-connection-test").Unprotect(protectedPayload).Should().Be("payload");
    }

    [Fact]
    public async Task ADecisionTakenAtOnceOnTwoGateways_IsGivenToExactlyOne()
    {
        await using var first = await StartConnectedAsync(Directory.CreateDirectory(Path.Combine(directory, "first")).FullName, new Dictionary<string, string?>
        {
            ["Cache:Redis"] = redis.Endpoint,
            ["Keys:Directory"] = Path.Combine(directory, "keys"),
        });
        await using var second = await StartConnectedAsync(Directory.CreateDirectory(Path.Combine(directory, "second")).FullName, new Dictionary<string, string?>
        {
            ["Cache:Redis"] = redis.Endpoint,
            ["Keys:Directory"] = Path.Combine(directory, "keys"),
        });
        var stores = new[] { first, second }.Select(app => app.Services.GetRequiredService<IAuthorizationDecisionStore>()).ToArray();

        for (var round = 0; round < 50; round++)
        {
            var requestUri = $"urn:ietf:params:oauth:request_uri:take-once-{round}";
            var now = TimeProvider.System.GetUtcNow();
            await stores[0].AddDecisionAsync(requestUri, new AuthorizationDecision(new Uri("https://council.example/callback"), "smith", now.AddMinutes(2)), CancellationToken.None);

            var taken = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => stores[i % 2].TakeDecisionAsync(requestUri, now, CancellationToken.None).AsTask()));

            taken.Count(d => d is not null).Should().Be(1, $"round {round}: GETDEL gives a single-use decision to one taker");
        }
    }

    [Fact]
    public async Task WithoutRedis_NoConnectionIsMade_AndEveryUseStaysInProcess()
    {
        await using var app = TestGateway.Build(directory);
        await app.StartOnFreePortAsync();

        app.Services.GetRequiredService<ICacheStore>().Name.Should().Be("memory");
        app.Services.GetRequiredService<SharedAuthorizationState>().IsEnabled.Should().BeFalse();
        app.Services.GetRequiredService<RedisRevocationChannel>().IsEnabled.Should().BeFalse();
        app.Services.GetRequiredService<IOptions<KeyManagementOptions>>().Value.XmlRepository.Should().BeNull("the default, per-process key ring");
        var resolve = () => app.Services.GetRequiredService<IConnectionMultiplexer>();
        resolve.Should().Throw<InvalidOperationException>().WithMessage("*Cache:Redis is not set*");
    }

    private static async Task<WebApplication> StartConnectedAsync(string dataDirectory, Dictionary<string, string?> settings)
    {
        var app = TestGateway.Build(dataDirectory, settings);
        try
        {
            await app.StartWithRedisConnectedAsync();
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan within)
    {
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > within)
            {
                throw new TimeoutException($"Not true within {within}.");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Records the commands one multiplexer sends during each step, step by step.</summary>
    private sealed class ProfiledSteps
    {
        private ProfilingSession? current;

        public ProfiledSteps(IConnectionMultiplexer multiplexer) => multiplexer.RegisterProfiler(() => current);

        public async Task<IReadOnlyList<string>> RunAsync(Func<Task> step)
        {
            current = new ProfilingSession();
            await step();
            return Finish();
        }

        public IReadOnlyList<string> Run(Action step)
        {
            current = new ProfilingSession();
            step();
            return Finish();
        }

        private List<string> Finish()
        {
            var session = current!;
            current = null;
            return [.. session.FinishProfiling().Select(command => command.Command)];
        }
    }
}
