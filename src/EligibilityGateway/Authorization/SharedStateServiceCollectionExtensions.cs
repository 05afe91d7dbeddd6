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
    /// With <c>Cache:Redis</c> set: the consent page's decisions, used client-assertion ids and the data-protection key
    /// ring in Redis (<see cref="SharedAuthorizationState"/>), and revocations of client-credentials access tokens told
    /// to every replica (<see cref="AccessTokenRevocationChannel"/>); without it, in-memory stores and a per-process key
    /// ring. Codes, refresh tokens and pushed requests are in the authorization server's database, shared by every
    /// replica on it. Call before <c>AddGatewayAuthorizationServer</c>, whose in-memory stores are added only when none
    /// is registered. Needs the cache options (<c>AddAnswerCache</c>) and the key ring.
    /// </summary>
    public static IServiceCollection AddSharedReplicaState(this IServiceCollection services)
    {
        services.TryAddSingleton<SharedAuthorizationState>();
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
