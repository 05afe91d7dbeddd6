using EligibilityGateway.Caching;
using EligibilityGateway.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace EligibilityGateway.Authorization;

/// <summary>Registers the state several replicas must share (Authorization/README.md, <i>Several replicas</i>).</summary>
internal static class SharedStateServiceCollectionExtensions
{
    /// <summary>Every replica's data-protection keys are found under this name, whatever its content root.</summary>
    public const string DataProtectionApplicationName = "eligibility-gateway";

    /// <summary>
    /// The Redis list of the data-protection key ring: one key's XML per element, its descriptor sealed
    /// (<see cref="SealedXmlEncryptor"/>). <c>v2</c>: <c>v1</c> held whole elements sealed by the gateway's own repository.
    /// </summary>
    public const string DataProtectionKeysRedisKey = "egw:data-protection-keys:v2";

    /// <summary>
    /// With <c>Cache:Redis</c> set: the consent page's decisions, used client-assertion ids and the data-protection key
    /// ring in Redis, on the gateway's one Redis connection (<see cref="SharedAuthorizationState"/>), and revocations of
    /// client-credentials access tokens told to every replica (<see cref="AccessTokenRevocationChannel"/>); without it,
    /// in-memory stores and a per-process key ring. Codes, refresh tokens and pushed requests are in the authorization
    /// server's database, shared by every replica on it. Call before <c>AddGatewayAuthorizationServer</c>, whose
    /// in-memory stores are added only when none is registered. Needs the cache options and connection
    /// (<c>AddAnswerCache</c>) and the key ring.
    /// </summary>
    public static IServiceCollection AddSharedReplicaState(this IServiceCollection services)
    {
        services.TryAddSingleton(SharedAuthorizationState.Create);
        services.TryAddSingleton<InMemoryAuthorizationDecisionStore>();
        services.TryAddSingleton<RedisAuthorizationDecisionStore>();
        services.TryAddSingleton<IAuthorizationDecisionStore>(provider => provider.GetRequiredService<SharedAuthorizationState>().IsEnabled
            ? provider.GetRequiredService<RedisAuthorizationDecisionStore>()
            : provider.GetRequiredService<InMemoryAuthorizationDecisionStore>());
        services.TryAddSingleton<InMemoryClientAssertionReplayCache>();
        services.TryAddSingleton<RedisClientAssertionReplayCache>();
        services.TryAddSingleton<IClientAssertionReplayCache>(provider => provider.GetRequiredService<SharedAuthorizationState>().IsEnabled
            ? provider.GetRequiredService<RedisClientAssertionReplayCache>()
            : provider.GetRequiredService<InMemoryClientAssertionReplayCache>());

        services.TryAddSingleton<RevokedAccessTokens>();
        services.TryAddSingleton<AccessTokenRevocationChannel>();
        services.AddHostedService(provider => provider.GetRequiredService<AccessTokenRevocationChannel>());

        // The key ring in Redis through Microsoft's repository (what PersistKeysToStackExchangeRedis registers), on the
        // shared connection, with each key's descriptor sealed. Whether Redis is set is read from configuration rather
        // than the validated options: ASP.NET Core asks for these options while the application is built, before
        // start-up validation reports a bad Cache section with its own message. The connection is made on first use.
        services.AddDataProtection().SetApplicationName(DataProtectionApplicationName);
        services.AddOptions<KeyManagementOptions>().Configure<IServiceProvider, IConfiguration>((options, provider, configuration) =>
        {
            if (!string.IsNullOrWhiteSpace(configuration.GetSection(CacheOptions.SectionName)[nameof(CacheOptions.Redis)]))
            {
                options.XmlRepository = new RedisXmlRepository(() => provider.GetRequiredService<IConnectionMultiplexer>().GetDatabase(), DataProtectionKeysRedisKey);
                options.XmlEncryptor = new SealedXmlEncryptor(provider);
            }
        });
        return services;
    }
}
