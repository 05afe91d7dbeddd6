using System.Buffers;
using System.Security.Cryptography;
using EligibilityGateway.Audit;
using EligibilityGateway.Security;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Audit
{
    /// <summary>The public audit keys as a JWK Set (RFC 7517 §5): what an auditor needs to verify checkpoints offline.</summary>
    internal static class AuditKeySet
    {
        /// <summary>Members <c>kty, crv, x, y, kid, use, alg</c> of each key; never a private part.</summary>
        public static byte[] Serialize(IEnumerable<JsonWebKey> keys)
        {
            ArgumentNullException.ThrowIfNull(keys);
            var buffer = new ArrayBufferWriter<byte>(256);
            using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                json.WriteStartArray("keys");
                foreach (var key in keys)
                {
                    json.WriteStartObject();
                    json.WriteString("kty", key.Kty);
                    json.WriteString("crv", key.Crv);
                    json.WriteString("x", key.X);
                    json.WriteString("y", key.Y);
                    json.WriteString("kid", key.KeyId);
                    json.WriteString("use", "sig");
                    json.WriteString("alg", SecurityAlgorithms.EcdsaSha256);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            return buffer.WrittenSpan.ToArray();
        }
    }
}

// In Microsoft.AspNetCore.Builder so that the host maps it without another using.
#pragma warning disable IDE0130
namespace Microsoft.AspNetCore.Builder
#pragma warning restore IDE0130
{
    /// <summary>Maps <c>GET /v1/audit/jwks</c>.</summary>
    public static class AuditKeysEndpointRouteBuilderExtensions
    {
        /// <summary>The route of the audit key set.</summary>
        public const string Route = "/v1/audit/jwks";

        // The key is read once at start-up and changes only with a redeployment; a day's caching is safe, and the
        // ETag lets a verifier revalidate cheaply.
        private const string CacheControl = "public, max-age=86400";

        /// <summary>
        /// Publishes the public audit checkpoint keys, anonymously and cacheably, so an auditor can fetch them and
        /// verify a copy of the log offline (<c>egw audit verify --jwks</c>).
        /// </summary>
        public static IEndpointRouteBuilder MapAuditKeysEndpoint(this IEndpointRouteBuilder endpoints)
        {
            ArgumentNullException.ThrowIfNull(endpoints);
            var keyRing = endpoints.ServiceProvider.GetRequiredService<KeyRing>();
            var body = AuditKeySet.Serialize(keyRing.PublicAuditKeys());
            var keySet = new EligibilityGateway.Http.KeySetResponse(body, CacheControl);
            Func<HttpContext, Task> serve = keySet.WriteAsync;

            // As a Delegate rather than a RequestDelegate, so that the route carries OpenAPI metadata.
            endpoints.MapGet(Route, (Delegate)serve)
                .AllowAnonymous()
                .WithName("GetAuditJwks")
                .WithTags("Audit")
                .WithSummary("The public audit checkpoint keys (JWK Set).")
                .WithDescription("Anonymous and cacheable: with this key set and a copy of the audit database, `egw audit verify` checks every checkpoint offline (src/EligibilityGateway/Audit/README.md, \"Checkpoints\"). The key that signs new checkpoints comes first; keys retired by a rotation follow and stay published so that older checkpoints keep verifying.")
                .Produces(StatusCodes.Status200OK, contentType: "application/jwk-set+json")
                .Produces(StatusCodes.Status304NotModified);
            return endpoints;
        }
    }
}
