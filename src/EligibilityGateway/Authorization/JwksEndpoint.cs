using System.Collections.Immutable;
using System.Text.Json;
using EligibilityGateway.Http;
using EligibilityGateway.Security;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>
/// <c>GET /connect/jwks</c>: the JWK Set of the gateway's token-signing keys (RFC 7517 §5) — both during a rotation —
/// public members only. The discovery document names it as <c>jwks_uri</c>; the keys are the ones the authorization
/// server signs with (<see cref="KeyRing"/>).
/// </summary>
internal sealed class JwksEndpoint(KeyRing keyRing)
{
    /// <summary>The key set changes only on a rollout; five minutes is the wait between publishing a new key and signing with it.</summary>
    public const string CacheControl = "public, max-age=300";

    // The ring is read once at start-up, so the published set is fixed for the life of the process.
    private readonly KeySetResponse response = new(
        JsonSerializer.SerializeToUtf8Bytes(
            new PublishedKeySet([.. keyRing.PublicSigningKeys().Select(k => new PublishedKey(k.Kty, k.Crv, k.X, k.Y, k.KeyId, "sig", SecurityAlgorithms.EcdsaSha256))]),
            AuthorizationJsonContext.Default.PublishedKeySet),
        CacheControl);

    public Task WriteAsync(HttpContext context) => response.WriteAsync(context);
}
