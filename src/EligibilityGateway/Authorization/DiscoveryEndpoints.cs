using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using EligibilityGateway.Security;
using EligibilityGateway.TrustFramework;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>
/// The discovery documents (RFC 8414 §3; OpenID Connect Discovery 1.0 §4) and the JWK Set of the gateway's
/// token-signing keys (RFC 7517 §5).
/// </summary>
internal sealed class DiscoveryEndpoints
{
    /// <summary>
    /// Metadata may change when the framework reloads (sandbox or not), so clients re-read it within a minute. The
    /// key set changes only on a rollout; five minutes is the wait between publishing a new key and signing with it.
    /// </summary>
    public const string MetadataCacheControl = "public, max-age=60";

    public const string JwksCacheControl = "public, max-age=300";

    private static readonly ImmutableArray<string> PrivateKeyJwtOnly = [ClientAuthentication.PrivateKeyJwtMethod];
    private static readonly ImmutableArray<string> WithClientSecretBasic = [ClientAuthentication.PrivateKeyJwtMethod, ClientAuthentication.ClientSecretBasicMethod];

    private readonly GatewayIssuer issuer;
    private readonly TrustFrameworkMonitor monitor;
    private readonly byte[] jwks;
    private readonly string jwksEntityTag;

    public DiscoveryEndpoints(GatewayIssuer issuer, TrustFrameworkMonitor monitor, KeyRing keyRing)
    {
        this.issuer = issuer;
        this.monitor = monitor;
        // The ring is read once at start-up, so the published set is fixed for the life of the process.
        var keys = keyRing.PublicSigningKeys()
            .Select(k => new PublishedKey(k.Kty, k.Crv, k.X, k.Y, k.KeyId, "sig", SecurityAlgorithms.EcdsaSha256))
            .ToImmutableArray();
        jwks = JsonSerializer.SerializeToUtf8Bytes(new PublishedKeySet(keys), AuthorizationJsonContext.Default.PublishedKeySet);
        jwksEntityTag = "\"" + Base64UrlEncoder.Encode(SHA256.HashData(jwks)[..16]) + "\"";
    }

    /// <summary>The metadata document; <c>client_secret_basic</c> is listed only while a sandbox framework is in force.</summary>
    public AuthorizationServerMetadata Metadata() => new(
        Issuer: issuer.Value,
        AuthorizationEndpoint: issuer.Value + AuthorizationServerPaths.Authorize,
        PushedAuthorizationRequestEndpoint: issuer.Value + AuthorizationServerPaths.PushedAuthorization,
        RequirePushedAuthorizationRequests: true,
        TokenEndpoint: issuer.TokenEndpoint,
        IntrospectionEndpoint: issuer.Value + AuthorizationServerPaths.Introspect,
        RevocationEndpoint: issuer.Value + AuthorizationServerPaths.Revoke,
        UserinfoEndpoint: issuer.Value + AuthorizationServerPaths.UserInfo,
        EndSessionEndpoint: issuer.Value + AuthorizationServerPaths.EndSession,
        JwksUri: issuer.JwksUri,
        GrantTypesSupported: TokenEndpoint.SupportedGrantTypes,
        ResponseTypesSupported: ["code"],
        CodeChallengeMethodsSupported: [PushedAuthorizationEndpoint.S256],
        AuthorizationResponseIssParameterSupported: true,
        AuthorizationDetailsTypesSupported: [ConsentAuthorizationDetails.Type],
        TokenEndpointAuthMethodsSupported: monitor.Current.Definition.Sandbox ? WithClientSecretBasic : PrivateKeyJwtOnly,
        TokenEndpointAuthSigningAlgValuesSupported: PrivateKeyJwtAuthenticator.SupportedAlgorithms,
        // openid is granted in the authorization-code flow only (PAR); it comes first, as in the scope a code grants.
        ScopesSupported: [PushedAuthorizationEndpoint.OpenIdScope, .. GatewayScopes.Supported],
        // OpenID Connect Discovery 1.0 §3: a citizen's sub is pairwise per council (OIDC Core §8.1); ID tokens are ES256.
        SubjectTypesSupported: ["pairwise"],
        IdTokenSigningAlgValuesSupported: [SecurityAlgorithms.EcdsaSha256]);

    public async Task WriteMetadataAsync(HttpContext context)
    {
        context.Response.Headers.CacheControl = MetadataCacheControl;
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, Metadata(), AuthorizationJsonContext.Default.AuthorizationServerMetadata, context.RequestAborted);
    }

    public async Task WriteJwksAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.CacheControl = JwksCacheControl;
        response.Headers.ETag = jwksEntityTag;
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(tag => tag.Trim() == jwksEntityTag || tag.Trim() == "*")))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        // RFC 7517 §8.5 registers application/jwk-set+json.
        response.ContentType = "application/jwk-set+json";
        response.ContentLength = jwks.Length;
        await response.Body.WriteAsync(jwks, context.RequestAborted);
    }
}
