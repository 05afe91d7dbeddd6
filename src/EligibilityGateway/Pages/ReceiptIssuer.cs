using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Authorization;
using EligibilityGateway.Consents;
using EligibilityGateway.Security;
using EligibilityGateway.TrustFramework;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Pages;

/// <summary>
/// Signs consent receipts (README.md): a compact JWS, ES256 under the gateway's audit-signing key (published at
/// <c>/v1/audit/jwks</c>; <c>Security/README.md</c> says why that key), over a JSON receipt in the spirit of the
/// Kantara Initiative's consent receipt. The citizen appears only as their subject reference: a receipt can be
/// forwarded, kept or lost without disclosing who they are.
/// </summary>
internal sealed class ReceiptIssuer(KeyRing keyRing, GatewayIssuer issuer, TrustFrameworkMonitor frameworks, TimeProvider timeProvider)
{
    /// <summary>The JOSE <c>typ</c> of a receipt, so that it is never mistaken for a token or a checkpoint.</summary>
    public const string Type = "egw-consent-receipt+jws";

    /// <summary>The media type a compact JWS is served as (RFC 7515 §9.2.1).</summary>
    public const string MediaType = "application/jose";

    /// <summary>The receipt format; bump it when a member changes meaning.</summary>
    public const string Version = "egw-consent-receipt/1";

    /// <summary>The signed receipt of <paramref name="consent"/> as it stands now.</summary>
    public string Issue(Consent consent)
    {
        ArgumentNullException.ThrowIfNull(consent);
        var now = timeProvider.GetUtcNow();
        var framework = frameworks.TryGetCurrent(out var snapshot) ? snapshot : null;
        var key = keyRing.AuditSigningKey;

        var header = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteString("alg", SecurityAlgorithms.EcdsaSha256);
            json.WriteString("kid", key.KeyId);
            json.WriteString("typ", Type);
            json.WriteEndObject();
        }

        var payload = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(payload))
        {
            json.WriteStartObject();
            json.WriteString("version", Version);
            json.WriteString("receiptId", Guid.CreateVersion7(now).ToString());
            json.WriteString("issuedAt", AuditRecordFormat.FormatTime(now));
            json.WriteString("jurisdiction", "GB");
            json.WriteString("language", "en-GB");

            json.WriteStartObject("controller");
            json.WriteString("id", consent.CouncilId);
            json.WriteString("name", framework is not null && framework.TryGetCouncil(consent.CouncilId, out var council) ? council.Name : consent.CouncilId);
            json.WriteEndObject();

            json.WriteStartObject("processor");
            json.WriteString("name", "Eligibility Gateway");
            json.WriteString("id", issuer.Value);
            json.WriteEndObject();

            json.WriteStartObject("subject");
            json.WriteString("subjectReference", consent.SubjectReference);
            json.WriteEndObject();

            json.WriteString("purpose", consent.Purpose);
            json.WriteString("lawfulBasis", consent.LawfulBasis);
            json.WriteString("lawfulBasisReference", "UK GDPR Article 6(1)(a)");

            json.WriteStartObject("scheme");
            json.WriteString("id", consent.SchemeId);
            if (framework is not null && framework.TryGetScheme(consent.SchemeId, out var scheme))
            {
                json.WriteString("name", scheme.Name);
                json.WriteString("legislation", scheme.Legislation);
            }

            json.WriteEndObject();

            json.WriteStartArray("providers");
            foreach (var providerId in consent.Providers)
            {
                json.WriteStartObject();
                json.WriteString("id", providerId);
                if (framework is not null && framework.TryGetProvider(providerId, out var provider))
                {
                    json.WriteString("name", provider.Name);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("dataReleased");
            foreach (var field in consent.Released)
            {
                json.WriteStringValue(field);
            }

            json.WriteEndArray();

            json.WriteStartObject("consent");
            json.WriteString("id", consent.ConsentId);
            json.WriteString("status", consent.StatusAt(now).ToName());
            json.WriteString("createdAt", AuditRecordFormat.FormatTime(consent.CreatedAt));
            WriteTime(json, "authorisedAt", consent.AuthorisedAt);
            json.WriteString("expiresAt", AuditRecordFormat.FormatTime(consent.ExpiresAt));
            WriteTime(json, "revokedAt", consent.RevokedAt);
            if (consent.RevokedBy is { } revokedBy)
            {
                json.WriteString("revokedBy", revokedBy);
            }

            json.WriteEndObject();

            json.WriteStartObject("trustFramework");
            json.WriteString("id", consent.FrameworkId);
            json.WriteString("version", consent.FrameworkVersion);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        var signingInput = Base64Url.EncodeToString(header.WrittenSpan) + "." + Base64Url.EncodeToString(payload.WrittenSpan);
        // RFC 7518 §3.4: the ES256 signature is R || S, 32 bytes each, which is .NET's IEEE P1363 format.
        var signature = key.ECDsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    private static void WriteTime(Utf8JsonWriter json, string name, DateTimeOffset? value)
    {
        if (value is { } instant)
        {
            json.WriteString(name, AuditRecordFormat.FormatTime(instant));
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
