using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace EligibilityGateway.Authorization.Server;

/// <summary>
/// A client as OpenIddict sees it: a council or auditor of the trust framework in force, read from the snapshot
/// each time it is looked up, never stored (README.md, "Clients"). Its id is its client id.
/// </summary>
internal sealed class FrameworkApplication(OAuthClient client)
{
    public OAuthClient Client { get; } = client;

    public string ClientId => Client.ClientId;
}

/// <summary>
/// OpenIddict's application store over the trust framework in force: every lookup reads
/// <see cref="TrustFrameworkMonitor.Current"/>, so a reload adds, changes or removes clients at once and there is no
/// second copy of the client list. Read-only: clients change by publishing a new framework, never through OpenIddict.
/// </summary>
internal sealed class FrameworkApplicationStore(TrustFrameworkMonitor monitor) : IOpenIddictApplicationStore<FrameworkApplication>
{
    private static readonly ConditionalWeakTable<ClientAuthentication, JsonWebKeySet> KeySets = new();

    public ValueTask<FrameworkApplication?> FindByClientIdAsync(string identifier, CancellationToken cancellationToken) =>
        new(OAuthClient.TryFind(monitor.Current, identifier, out var client) ? new FrameworkApplication(client) : null);

    public ValueTask<FrameworkApplication?> FindByIdAsync(string identifier, CancellationToken cancellationToken) => FindByClientIdAsync(identifier, cancellationToken);

    public async IAsyncEnumerable<FrameworkApplication> FindByRedirectUriAsync(string uri, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        foreach (var council in monitor.Current.Definition.Councils)
        {
            if (council.RedirectUris.Any(u => string.Equals(u.OriginalString, uri, StringComparison.Ordinal))
                && OAuthClient.TryFind(monitor.Current, council.ClientId, out var client))
            {
                yield return new FrameworkApplication(client);
            }
        }
    }

    public IAsyncEnumerable<FrameworkApplication> FindByPostLogoutRedirectUriAsync(string uri, CancellationToken cancellationToken) => AsyncEnumerable.Empty<FrameworkApplication>();

    public ValueTask<string?> GetIdAsync(FrameworkApplication application, CancellationToken cancellationToken) => new(application.ClientId);

    public ValueTask<string?> GetClientIdAsync(FrameworkApplication application, CancellationToken cancellationToken) => new(application.ClientId);

    /// <summary>Every council and auditor holds a credential: all are confidential clients (RFC 6749 §2.1).</summary>
    public ValueTask<string?> GetClientTypeAsync(FrameworkApplication application, CancellationToken cancellationToken) => new(ClientTypes.Confidential);

    public ValueTask<string?> GetApplicationTypeAsync(FrameworkApplication application, CancellationToken cancellationToken) => new(ApplicationTypes.Web);

    /// <summary>
    /// The secret hash, only for a <c>client_secret_basic</c> client of a sandbox framework: elsewhere the client has
    /// no secret, so a secret is refused whatever it is. Verified by <see cref="FrameworkApplicationManager"/>.
    /// </summary>
    public ValueTask<string?> GetClientSecretAsync(FrameworkApplication application, CancellationToken cancellationToken) =>
        new(application.Client.Authentication is ClientSecretBasicAuthentication basic && application.Client.Framework.Definition.Sandbox
            ? basic.SecretHash.ToString()
            : null);

    /// <summary>The public keys a <c>private_key_jwt</c> client signs its assertions with, built once per framework record.</summary>
    public ValueTask<JsonWebKeySet?> GetJsonWebKeySetAsync(FrameworkApplication application, CancellationToken cancellationToken) =>
        new(application.Client.Authentication is PrivateKeyJwtAuthentication jwt ? KeySets.GetValue(jwt, static a => ToKeySet((PrivateKeyJwtAuthentication)a)) : null);

    public ValueTask<string?> GetConsentTypeAsync(FrameworkApplication application, CancellationToken cancellationToken) => new(ConsentTypes.Explicit);

    public ValueTask<string?> GetDisplayNameAsync(FrameworkApplication application, CancellationToken cancellationToken) =>
        new(application.Client.Framework.TryGetCouncilByClientId(application.ClientId, out var council) ? council.Name
            : application.Client.Framework.TryGetAuditorByClientId(application.ClientId, out var auditor) ? auditor.Name
            : application.ClientId);

    public ValueTask<ImmutableDictionary<CultureInfo, string>> GetDisplayNamesAsync(FrameworkApplication application, CancellationToken cancellationToken) =>
        new(ImmutableDictionary<CultureInfo, string>.Empty);

    /// <summary>What a council or an auditor may do (README.md, "Scopes"): auditors only read the audit trail.</summary>
    public ValueTask<ImmutableArray<string>> GetPermissionsAsync(FrameworkApplication application, CancellationToken cancellationToken) =>
        new(application.Client.Kind == ClientKind.Council ? CouncilPermissions : AuditorPermissions);

    public ValueTask<ImmutableArray<string>> GetPostLogoutRedirectUrisAsync(FrameworkApplication application, CancellationToken cancellationToken) => new([]);

    public ValueTask<ImmutableDictionary<string, JsonElement>> GetPropertiesAsync(FrameworkApplication application, CancellationToken cancellationToken) =>
        new(ImmutableDictionary<string, JsonElement>.Empty);

    /// <summary>A council's registered redirect URIs, compared character for character (RFC 9700 §2.1).</summary>
    public ValueTask<ImmutableArray<string>> GetRedirectUrisAsync(FrameworkApplication application, CancellationToken cancellationToken) =>
        new(application.Client.Kind == ClientKind.Council && application.Client.Framework.TryGetCouncilByClientId(application.ClientId, out var council)
            ? [.. council.RedirectUris.Select(u => u.OriginalString)]
            : []);

    /// <summary>PKCE (RFC 7636) and PAR (RFC 9126) for every authorization request.</summary>
    public ValueTask<ImmutableArray<string>> GetRequirementsAsync(FrameworkApplication application, CancellationToken cancellationToken) =>
        new([Requirements.Features.ProofKeyForCodeExchange, Requirements.Features.PushedAuthorizationRequests]);

    public ValueTask<ImmutableDictionary<string, string>> GetSettingsAsync(FrameworkApplication application, CancellationToken cancellationToken) =>
        new(ImmutableDictionary<string, string>.Empty);

    public ValueTask<long> CountAsync(CancellationToken cancellationToken) =>
        new(monitor.Current.Definition.Councils.Length + monitor.Current.Definition.Auditors.Length);

    public async IAsyncEnumerable<FrameworkApplication> ListAsync(int? count, int? offset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.CompletedTask;
        var framework = monitor.Current;
        var ids = framework.Definition.Councils.Select(c => c.ClientId).Concat(framework.Definition.Auditors.Select(a => a.ClientId));
        foreach (var id in ids.Skip(offset ?? 0).Take(count ?? int.MaxValue))
        {
            if (OAuthClient.TryFind(framework, id, out var client))
            {
                yield return new FrameworkApplication(client);
            }
        }
    }

    private static readonly ImmutableArray<string> CouncilPermissions =
    [
        Permissions.Endpoints.Token,
        Permissions.Endpoints.Authorization,
        Permissions.Endpoints.PushedAuthorization,
        Permissions.Endpoints.Introspection,
        Permissions.Endpoints.Revocation,
        Permissions.GrantTypes.ClientCredentials,
        Permissions.GrantTypes.AuthorizationCode,
        Permissions.GrantTypes.RefreshToken,
        Permissions.ResponseTypes.Code,
        Permissions.Prefixes.Scope + GatewayScopes.EligibilityCheck,
        Permissions.Prefixes.Scope + GatewayScopes.ConsentsManage,
    ];

    private static readonly ImmutableArray<string> AuditorPermissions =
    [
        Permissions.Endpoints.Token,
        Permissions.Endpoints.Introspection,
        Permissions.Endpoints.Revocation,
        Permissions.GrantTypes.ClientCredentials,
        Permissions.Prefixes.Scope + GatewayScopes.AuditRead,
    ];

    private static JsonWebKeySet ToKeySet(PrivateKeyJwtAuthentication authentication)
    {
        var set = new JsonWebKeySet();
        foreach (var key in authentication.Keys)
        {
            set.Keys.Add(new JsonWebKey
            {
                Kid = key.Kid,
                Kty = key.Kty,
                Alg = key.Alg,
                Crv = key.Crv,
                X = key.X,
                Y = key.Y,
                N = key.N,
                E = key.E,
                Use = "sig",
            });
        }

        return set;
    }

    // Clients are the trust framework's: OpenIddict never creates, changes or deletes them.
    public ValueTask<long> CountAsync<TResult>(Func<IQueryable<FrameworkApplication>, IQueryable<TResult>> query, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask<TResult?> GetAsync<TState, TResult>(Func<IQueryable<FrameworkApplication>, TState, IQueryable<TResult>> query, TState state, CancellationToken cancellationToken) => throw ReadOnly();

    public IAsyncEnumerable<TResult> ListAsync<TState, TResult>(Func<IQueryable<FrameworkApplication>, TState, IQueryable<TResult>> query, TState state, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask<FrameworkApplication> InstantiateAsync(CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask CreateAsync(FrameworkApplication application, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask DeleteAsync(FrameworkApplication application, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask UpdateAsync(FrameworkApplication application, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetApplicationTypeAsync(FrameworkApplication application, string? type, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetClientIdAsync(FrameworkApplication application, string? identifier, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetClientSecretAsync(FrameworkApplication application, string? secret, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetClientTypeAsync(FrameworkApplication application, string? type, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetConsentTypeAsync(FrameworkApplication application, string? type, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetDisplayNameAsync(FrameworkApplication application, string? name, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetDisplayNamesAsync(FrameworkApplication application, ImmutableDictionary<CultureInfo, string> names, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetJsonWebKeySetAsync(FrameworkApplication application, JsonWebKeySet? set, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetPermissionsAsync(FrameworkApplication application, ImmutableArray<string> permissions, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetPostLogoutRedirectUrisAsync(FrameworkApplication application, ImmutableArray<string> uris, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetPropertiesAsync(FrameworkApplication application, ImmutableDictionary<string, JsonElement> properties, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetRedirectUrisAsync(FrameworkApplication application, ImmutableArray<string> uris, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetRequirementsAsync(FrameworkApplication application, ImmutableArray<string> requirements, CancellationToken cancellationToken) => throw ReadOnly();

    public ValueTask SetSettingsAsync(FrameworkApplication application, ImmutableDictionary<string, string> settings, CancellationToken cancellationToken) => throw ReadOnly();

    private static NotSupportedException ReadOnly() => new("Clients come from the trust framework in force; publish a new framework to change them.");
}

/// <summary>
/// OpenIddict's application manager with the framework's secret format: a <c>client_secret_basic</c> secret is
/// verified against the framework's PBKDF2 hash through <see cref="VerifiedSecretCache"/> (one PBKDF2 per client and
/// secret, then an HMAC compared in constant time), not OpenIddict's own hash format.
/// </summary>
internal sealed class FrameworkApplicationManager(
    IOpenIddictApplicationCache<FrameworkApplication> cache,
    ILogger<OpenIddictApplicationManager<FrameworkApplication>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictApplicationStore<FrameworkApplication> store,
    VerifiedSecretCache verifiedSecrets) : OpenIddictApplicationManager<FrameworkApplication>(cache, logger, options, store)
{
    public override ValueTask<bool> ValidateClientSecretAsync(FrameworkApplication application, string secret, CancellationToken cancellationToken = default) =>
        new(application.Client.Authentication is ClientSecretBasicAuthentication basic
            && application.Client.Framework.Definition.Sandbox
            && verifiedSecrets.Verify(application.ClientId, basic.SecretHash, secret));
}
