using EligibilityGateway.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EligibilityGateway.Authorization;

/// <summary>Registers the state several replicas must share (Authorization/README.md, <i>Several replicas</i>).</summary>
internal static class SharedStateServiceCollectionExtensions
{
    /// <summary>Every replica's data-protection keys are found under this name, whatever its content root.</summary>
    public const string DataProtectionApplicationName = "eligibility-gateway";

    /// <summary>
    /// With <c>Cache:Redis</c> set: pending authorization requests and decisions, authorization codes and the
    /// data-protection key ring in Redis (<see cref="SharedAuthorizationState"/>), and access-token revocations told to
    /// every replica (<see cref="AccessTokenRevocationChannel"/>); without it, the in-memory stores and a per-process
    /// key ring, as before. Call before <c>AddGatewayAuthorizationServer</c>, whose in-memory stores are
    /// added only when none is registered. Needs the cache options (<c>AddAnswerCache</c>) and the key ring.
    /// </summary>
    public static IServiceCollection AddSharedReplicaState(this IServiceCollection services)
    {
        services.TryAddSingleton<SharedAuthorizationState>();
        services.TryAddSingleton<InMemoryPendingAuthorizationStore>();
        services.TryAddSingleton<AuthorizationCodeStore>();
        services.TryAddSingleton<RedisPendingAuthorizationStore>();
        services.TryAddSingleton<RedisAuthorizationCodeStore>();
        services.TryAddSingleton<IPendingAuthorizationStore>(provider => provider.GetRequiredService<SharedAuthorizationState>().IsEnabled
            ? provider.GetRequiredService<RedisPendingAuthorizationStore>()
            : provider.GetRequiredService<InMemoryPendingAuthorizationStore>());
        services.TryAddSingleton<IAuthorizationCodeStore>(provider => provider.GetRequiredService<SharedAuthorizationState>().IsEnabled
            ? provider.GetRequiredService<RedisAuthorizationCodeStore>()
            : provider.GetRequiredService<AuthorizationCodeStore>());

        services.TryAddSingleton<RevokedAccessTokens>();
        services.TryAddSingleton<AccessTokenRevocationChannel>();
        services.AddHostedService(provider => provider.GetRequiredService<AccessTokenRevocationChannel>());

        services.AddDataProtection().SetApplicationName(DataProtectionApplicationName);
        services.AddOptions<KeyManagementOptions>().Configure<SharedAuthorizationState>((options, state) =>
        {
            if (state.IsEnabled)
            {
                options.XmlRepository = new RedisXmlRepository(state);
            }
        });
        return services;
    }
}
