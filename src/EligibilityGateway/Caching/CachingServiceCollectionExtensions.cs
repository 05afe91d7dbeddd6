using EligibilityGateway;
using EligibilityGateway.Caching;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

// In Microsoft.Extensions.DependencyInjection so that hosts find it without another using.
#pragma warning disable IDE0130
namespace Microsoft.Extensions.DependencyInjection;
#pragma warning restore IDE0130

/// <summary>Registers the answer cache feature.</summary>
public static class CachingServiceCollectionExtensions
{
    /// <summary>
    /// Adds the answer cache (<c>IAnswerCache</c>, <c>CacheKeys</c>, <c>SingleFlight&lt;,&gt;</c>): Redis when
    /// <c>Cache:Redis</c> is set, process memory otherwise; options from the <c>Cache</c> section, validated at
    /// start-up; cache metrics; and the <c>answer-cache</c> readiness check (Degraded, never Unhealthy, while Redis is
    /// unreachable); and the cache's part of the consent revocation cascade (<c>ConsentRevocationPurge</c>, with a Redis
    /// pub/sub channel between replicas when Redis is set); and, when <c>Cache:Redis</c> is set, the gateway's one
    /// <c>IConnectionMultiplexer</c>, which every other user of Redis takes from here (<c>RedisConnection</c>). Needs the
    /// key ring (<c>AddKeyRing</c>).
    /// </summary>
    public static IServiceCollection AddAnswerCache(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<CacheOptions>()
            .Bind(configuration.GetSection(CacheOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CacheOptions>, CacheOptionsValidator>());

        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<CacheMetrics>();
        services.TryAddSingleton<CacheKeys>();
        services.TryAddSingleton<AnswerProtector>();
        // Resolved only when Cache:Redis is set; every user of Redis shares this one connection.
        services.TryAddSingleton<IConnectionMultiplexer>(RedisConnection.Connect);
        services.TryAddSingleton<ICacheStore>(CreateStore);
        services.TryAddSingleton<IAnswerCache, AnswerCache>();
        services.AddHostedService<CacheStoreStarter>();
        // The revocation cascade (README.md): purge the consent's answer, remember the revocation, tell the other replicas.
        services.TryAddSingleton<RevokedConsents>();
        services.TryAddSingleton(provider => new RedisRevocationChannel(
            provider.GetRequiredService<IOptions<CacheOptions>>(),
            provider.GetRequiredService<RevokedConsents>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<RedisRevocationChannel>>(),
            RedisConnection.IsConfigured(provider.GetRequiredService<IOptions<CacheOptions>>().Value) ? provider.GetRequiredService<IConnectionMultiplexer>() : null));
        services.AddHostedService(provider => provider.GetRequiredService<RedisRevocationChannel>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<EligibilityGateway.Consents.IConsentRevocationObserver, ConsentRevocationPurge>());
        services.TryAddSingleton(typeof(SingleFlight<,>));
        services.AddHealthChecks().AddCheck<AnswerCacheHealthCheck>(AnswerCacheHealthCheck.Name, tags: [GatewayApplication.ReadyTag]);
        return services;
    }

    private static ICacheStore CreateStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<CacheOptions>>().Value;
        var timeProvider = services.GetRequiredService<TimeProvider>();
        if (RedisConnection.IsConfigured(options))
        {
            return new RedisCacheStore(services.GetRequiredService<IConnectionMultiplexer>(), options, timeProvider, services.GetRequiredService<CacheMetrics>(), services.GetRequiredService<ILogger<RedisCacheStore>>());
        }

        Log.UsingMemory(services.GetRequiredService<ILogger<MemoryCacheStore>>(), options.MemorySizeLimitBytes);
        return new MemoryCacheStore(options, timeProvider);
    }
}
