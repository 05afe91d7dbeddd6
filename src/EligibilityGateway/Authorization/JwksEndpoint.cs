using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using EligibilityGateway.Security;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>
/// <c>GET /connect/jwks</c>: the JWK Set of the gateway's token-signing keys (RFC 7517 §5) — both during a rotation —
/// public members only, as <c>application/jwk-set+json</c> with an <c>ETag</c>. The discovery document names it as
/// <c>jwks_uri</c>; the keys are the ones the authorization server signs with (<see cref="KeyRing"/>).
/// </summary>
internal sealed class JwksEndpoint
{
    /// <summary>The key set changes only on a rollout; five minutes is the wait between publishing a new key and signing with it.</summary>
    public const string CacheControl = "public, max-age=300";

    private readonly byte[] jwks;
    private readonly string entityTag;

    public JwksEndpoint(KeyRing keyRing)
    {
        // The ring is read once at start-up, so the published set is fixed for the life of the process.
        var keys = keyRing.PublicSigningKeys()
            .Select(k => new PublishedKey(k.Kty, k.Crv, k.X, k.Y, k.KeyId, "sig", SecurityAlgorithms.EcdsaSha256))
            .ToImmutableArray();
        jwks = JsonSerializer.SerializeToUtf8Bytes(new PublishedKeySet(keys), AuthorizationJsonContext.Default.PublishedKeySet);
        entityTag = "\"" + Base64UrlEncoder.Encode(SHA256.HashData(jwks)[..16]) + "\"";
    }

    public async Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.CacheControl = CacheControl;
        response.Headers.ETag = entityTag;
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(tag => tag.Trim() == entityTag || tag.Trim() == "*")))
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
