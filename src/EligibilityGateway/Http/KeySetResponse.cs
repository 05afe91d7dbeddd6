using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Http;

/// <summary>
/// A JWK Set (RFC 7517 §5) fixed for the life of the process, served as <c>application/jwk-set+json</c> (§8.5) with a
/// strong <c>ETag</c>, so that a verifier revalidates with <c>If-None-Match</c> and gets 304. Used for the
/// token-signing keys (<c>/connect/jwks</c>) and the audit checkpoint keys (<c>/v1/audit/jwks</c>).
/// </summary>
internal sealed class KeySetResponse(byte[] body, string cacheControl)
{
    private readonly string entityTag = "\"" + Base64UrlEncoder.Encode(SHA256.HashData(body)[..16]) + "\"";

    public async Task WriteAsync(HttpContext context)
    {
        var response = context.Response;
        response.Headers.CacheControl = cacheControl;
        response.Headers.ETag = entityTag;
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(tag => tag.Trim() == entityTag || tag.Trim() == "*")))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentType = "application/jwk-set+json";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted);
    }
}
