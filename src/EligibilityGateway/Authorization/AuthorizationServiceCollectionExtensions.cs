using EligibilityGateway.Security;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Authorization;

/// <summary>Registers the authorization server and the API-side validation of its tokens.</summary>
public static class AuthorizationServiceCollectionExtensions
{
    /// <summary>
    /// The token endpoint, discovery and JWKS, client authentication and access-token issuance. Needs the trust
    /// framework and the key ring (<c>AddKeyRing</c>). Options from the <c>Authorization</c> section, validated on
    /// start: <c>Issuer</c>, <c>AccessTokenLifetime</c>. A host with several replicas registers its own
    /// client-assertion replay cache first; the in-memory one is added only when none is. The
    /// <c>client_secret_basic</c> throttle shares its counts through Redis when <c>Cache:Redis</c> is set.
    /// </summary>
    public static IServiceCollection AddGatewayAuthorizationServer(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AuthorizationServerOptions>()
            .Bind(configuration.GetSection(AuthorizationServerOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuthorizationServerOptions>, AuthorizationServerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GatewayIssuer>();
        services.TryAddSingleton<IClientAssertionReplayCache, InMemoryClientAssertionReplayCache>();
        services.TryAddSingleton<VerifiedSecretCache>();
        services.TryAddSingleton<SharedAuthorizationState>();
        services.TryAddSingleton<ClientAuthenticationThrottle>();
        services.TryAddSingleton<ClientSecretBasicAuthenticator>();
        services.TryAddSingleton<PrivateKeyJwtAuthenticator>();
        services.TryAddSingleton<ClientAuthenticator>();
        services.TryAddSingleton<AccessTokenIssuer>();
        services.TryAddSingleton<TokenEndpoint>();
        services.TryAddSingleton<IPendingAuthorizationStore, InMemoryPendingAuthorizationStore>();
        services.TryAddSingleton<AuthorizationCodeStore>();
        services.TryAddSingleton<IAuthorizationCodeStore>(provider => provider.GetRequiredService<AuthorizationCodeStore>());
        services.TryAddSingleton<RevokedAccessTokens>();
        services.TryAddSingleton<AuthorizationCodeExchange>();
        services.TryAddSingleton<ConsentTokenRegistry>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Consents.IConsentRevocationObserver, ConsentTokenRegistry>(sp => sp.GetRequiredService<ConsentTokenRegistry>()));
        services.TryAddSingleton<RefreshTokenExchange>();
        services.TryAddSingleton<TokenManagementEndpoints>();
        services.TryAddSingleton<IdTokenHintValidator>();
        services.TryAddSingleton<PushedAuthorizationEndpoint>();
        services.TryAddSingleton<DiscoveryEndpoints>();
        return services;
    }

    /// <summary>
    /// Authentication scheme <c>Bearer</c> (the default scheme; <see cref="JwtBearerHandler"/> configured by
    /// <see cref="GatewayBearer"/>) over the gateway's own access tokens, and one
    /// authorization policy per scope, named as the scope: <c>eligibility.check</c>, <c>consents.manage</c>,
    /// <c>audit.read</c> (<see cref="GatewayScopes"/>).
    /// </summary>
    public static IServiceCollection AddGatewayAuthentication(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GatewayIssuer>();
        services.TryAddSingleton<RevokedAccessTokens>();
        services.TryAddSingleton<AccessTokenReader>();
        services.TryAddSingleton<ValidatedAccessTokenCache>();
        services.TryAddSingleton<GatewayBearerEvents>();
        services.AddAuthentication(GatewayBearer.SchemeName).AddJwtBearer(GatewayBearer.SchemeName);
        services.AddOptions<JwtBearerOptions>(GatewayBearer.SchemeName).Configure<GatewayIssuer, KeyRing, TimeProvider>(GatewayBearer.Configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IAuthorizationHandler, ScopeAuthorizationHandler>());
        services.AddAuthorizationBuilder()
            .AddPolicy(GatewayScopes.EligibilityCheck, policy => RequireScope(policy, GatewayScopes.EligibilityCheck))
            .AddPolicy(GatewayScopes.ConsentsManage, policy => RequireScope(policy, GatewayScopes.ConsentsManage))
            .AddPolicy(GatewayScopes.AuditRead, policy => RequireScope(policy, GatewayScopes.AuditRead));
        return services;
    }

    private static void RequireScope(AuthorizationPolicyBuilder policy, string scope) => policy
        .AddAuthenticationSchemes(GatewayBearer.SchemeName)
        .RequireAuthenticatedUser()
        .AddRequirements(new ScopeRequirement(scope));
}
