using System.Security.Cryptography;
using EligibilityGateway.Authorization.Server;
using EligibilityGateway.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace EligibilityGateway.Authorization;

/// <summary>Registers the authorization server and the API-side validation of its tokens.</summary>
public static class AuthorizationServiceCollectionExtensions
{
    /// <summary>The key OpenIddict encrypts codes, refresh tokens and pushed requests with is derived under this label.</summary>
    private static readonly byte[] TokenEncryptionLabel = "eligibility-gateway/authorization-server/token-encryption/v1"u8.ToArray();

    /// <summary>
    /// The authorization server on OpenIddict (README.md): endpoints, clients from the trust framework, the gateway's
    /// rules as handlers, authorizations and tokens in SQLite (<c>Authorization:Sqlite:Path</c>, default
    /// <c>authorization.db</c> in <c>Storage:Directory</c>) or PostgreSQL (<c>Authorization:Postgres:ConnectionString</c>).
    /// Needs the trust framework, the consents and the key ring. Options from the <c>Authorization</c> section,
    /// validated on start: <c>Issuer</c>, <c>AccessTokenLifetime</c>, <c>PushedRequestLifetime</c>.
    /// </summary>
    public static IServiceCollection AddGatewayAuthorizationServer(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AuthorizationServerOptions>()
            .Bind(configuration.GetSection(AuthorizationServerOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuthorizationServerOptions>, AuthorizationServerOptionsValidator>());
        services.AddOptions<AuthorizationStoreOptions>()
            .Bind(configuration.GetSection(AuthorizationStoreOptions.SectionName))
            .PostConfigure<IServiceProvider>((options, provider) => options.Sqlite.Path = ResolveDatabasePath(
                options.Sqlite.Path,
                configuration.GetValue<string>("Storage:Directory"),
                provider.GetService<IHostEnvironment>()?.ContentRootPath))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuthorizationStoreOptions>, AuthorizationStoreOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GatewayIssuer>();
        services.TryAddSingleton<IClientAssertionReplayCache, InMemoryClientAssertionReplayCache>();
        services.TryAddSingleton<VerifiedSecretCache>();
        services.TryAddSingleton(SharedAuthorizationState.Create);
        services.TryAddSingleton<ClientAuthenticationThrottle>();
        services.TryAddSingleton<IAuthorizationDecisionStore, InMemoryAuthorizationDecisionStore>();
        services.TryAddSingleton<RevokedAccessTokens>();
        services.TryAddSingleton<IdTokenHintValidator>();
        services.TryAddSingleton<JwksEndpoint>();
        services.TryAddSingleton<ConsentAuthorizations>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Consents.IConsentRevocationObserver, ConsentAuthorizations>(sp => sp.GetRequiredService<ConsentAuthorizations>()));

        services.AddDbContextPool<AuthorizationDbContext>((provider, options) =>
        {
            var store = provider.GetRequiredService<IOptions<AuthorizationStoreOptions>>().Value;
            if (store.Postgres.IsConfigured)
            {
                options.UseNpgsql(store.Postgres.ConnectionString);
            }
            else
            {
                options.UseSqlite($"Data Source={store.Sqlite.Path};Pooling=True;Default Timeout=30");
            }

            options.UseOpenIddict();
        });
        services.AddHostedService<AuthorizationStoreInitializer>();
        services.AddAuthentication();
        services.TryAddScoped<AuthenticationHandlerProvider>();
        services.Replace(ServiceDescriptor.Scoped<IAuthenticationHandlerProvider, ServerPathsOnlyHandlerProvider>());
        services.AddHostedService<AuthorizationStorePruner>();

        services.AddOpenIddict()
            .AddCore(core =>
            {
                core.UseEntityFrameworkCore().UseDbContext<AuthorizationDbContext>();
                // Clients are the trust framework's: read from the snapshot in force, never cached by OpenIddict.
                core.SetDefaultApplicationEntity<FrameworkApplication>();
                core.ReplaceApplicationStore<FrameworkApplication, FrameworkApplicationStore>(ServiceLifetime.Singleton);
                core.ReplaceApplicationManager<FrameworkApplication, FrameworkApplicationManager>();
                core.DisableEntityCaching();
            })
            .AddServer(server =>
            {
                server.SetTokenEndpointUris(AuthorizationServerPaths.Token.TrimStart('/'))
                    .SetPushedAuthorizationEndpointUris(AuthorizationServerPaths.PushedAuthorization.TrimStart('/'))
                    .SetAuthorizationEndpointUris(AuthorizationServerPaths.Authorize.TrimStart('/'))
                    .SetIntrospectionEndpointUris(AuthorizationServerPaths.Introspect.TrimStart('/'))
                    .SetRevocationEndpointUris(AuthorizationServerPaths.Revoke.TrimStart('/'))
                    .SetUserInfoEndpointUris(AuthorizationServerPaths.UserInfo.TrimStart('/'))
                    .SetConfigurationEndpointUris(AuthorizationServerPaths.OpenIdConfiguration.TrimStart('/'), AuthorizationServerPaths.OAuthAuthorizationServer.TrimStart('/'));

                server.AllowClientCredentialsFlow()
                    .AllowAuthorizationCodeFlow()
                    .AllowRefreshTokenFlow()
                    .RequireProofKeyForCodeExchange()
                    .RequirePushedAuthorizationRequests();
                server.RegisterScopes([Scopes.OpenId, .. GatewayScopes.Supported]);
                server.SetAuthorizationCodeLifetime(TimeSpan.FromSeconds(60))
                    // A rotated refresh token stays usable for a minute, so a council whose response was lost can retry.
                    .SetRefreshTokenReuseLeeway(TimeSpan.FromSeconds(60));
                server.DisableAccessTokenEncryption();
                server.Configure(options =>
                {
                    // RFC 7636 §4.2: S256 only; plain would put the verifier on the wire.
                    options.CodeChallengeMethods.Clear();
                    options.CodeChallengeMethods.Add(CodeChallengeMethods.Sha256);
                    // The code flow only: no implicit or hybrid response types (RFC 9700 §2.1.2); answers come back in the query.
                    options.ResponseTypes.Clear();
                    options.ResponseTypes.Add(ResponseTypes.Code);
                    options.ResponseModes.Remove(ResponseModes.Fragment);
                    options.ResponseModes.Remove(ResponseModes.FormPost);
                    // RFC 6749 §2.3.1 calls client_secret_post "NOT RECOMMENDED": secrets travel only in the Basic header.
                    options.ClientAuthenticationMethods.Remove(ClientAuthenticationMethods.ClientSecretPost);
                });

                // The gateway's rules, as ordered handlers around OpenIddict's own.
                foreach (var descriptor in RequestShapeHandlers.Descriptors.Concat(ClientAuthenticationHandlers.Descriptors).Concat(TokenHandlers.Descriptors).Concat(FlowHandlers.Descriptors))
                {
                    server.AddEventHandler(descriptor);
                }

                server.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableErrorPassthrough()
                    .SetRealm("eligibility-gateway")
                    .SuppressJsonResponseIndentation()
                    // TLS ends at the ingress in production; the issuer's scheme is what clients see.
                    .DisableTransportSecurityRequirement();
            });

        services.AddOptions<OpenIddictServerOptions>().Configure<KeyRing, IOptions<AuthorizationServerOptions>>((options, keyRing, gateway) =>
        {
            // ES256 under the ring's keys: the active one signs, the others stay published and valid until rotated out.
            options.SigningCredentials.Add(new SigningCredentials(keyRing.ActiveSigningKey, SecurityAlgorithms.EcdsaSha256));
            foreach (var key in keyRing.SigningKeys.Where(k => !ReferenceEquals(k, keyRing.ActiveSigningKey)))
            {
                options.SigningCredentials.Add(new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256));
            }

            // Every replica derives the same key from the ring, so any of them opens a code or refresh token another issued.
            var encryption = HKDF.DeriveKey(HashAlgorithmName.SHA256, keyRing.ConsentEncryptionKey, 32, salt: [], info: TokenEncryptionLabel);
            options.EncryptionCredentials.Add(new EncryptingCredentials(new SymmetricSecurityKey(encryption), SecurityAlgorithms.Aes256KW, SecurityAlgorithms.Aes256CbcHmacSha512));

            options.AccessTokenLifetime = gateway.Value.AccessTokenLifetime;
            options.IdentityTokenLifetime = gateway.Value.AccessTokenLifetime;
            options.RequestTokenLifetime = gateway.Value.PushedRequestLifetime;
        });
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

    /// <summary>The configured path, or <c>authorization.db</c> in the storage directory; relative paths against the content root.</summary>
    internal static string? ResolveDatabasePath(string? configuredPath, string? storageDirectory, string? contentRoot)
    {
        var path = !string.IsNullOrWhiteSpace(configuredPath) ? configuredPath
            : !string.IsNullOrWhiteSpace(storageDirectory) ? Path.Combine(storageDirectory, "authorization.db")
            : null;
        return path is null ? null : Path.GetFullPath(path, contentRoot ?? Directory.GetCurrentDirectory());
    }

    private static void RequireScope(AuthorizationPolicyBuilder policy, string scope) => policy
        .AddAuthenticationSchemes(GatewayBearer.SchemeName)
        .RequireAuthenticatedUser()
        .AddRequirements(new ScopeRequirement(scope));
}
