using System.Text.Json;
using EligibilityGateway.Security;
using EligibilityGateway.TrustFramework;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>An <c>id_token_hint</c> this gateway issued: the council it was issued to and the pairwise subject it names.</summary>
internal sealed record IdTokenHint(string ClientId, string Subject);

/// <summary>A validated hint, or a fixed phrase saying why there is none (safe to log: it never quotes the token).</summary>
internal readonly record struct IdTokenHintValidation(IdTokenHint? Hint, string? Failure);

/// <summary>
/// Reads the <c>id_token_hint</c> of an end-session request (OpenID Connect RP-Initiated Logout 1.0 §2): an ID token
/// this gateway issued (OpenID Connect Core §3.1.3.3) — ES256 under a key of the ring, <c>typ: JWT</c>, <c>iss</c> the
/// issuer — whose <c>aud</c> is one council of the framework in force, and the same council as <c>client_id</c> when
/// that is sent too (§2: "the OP MUST verify that the Client Identifier matches the one used when issuing the ID
/// Token"). An expired one is accepted: §2 says the OP SHOULD accept ID tokens past <c>exp</c> as hints, and ours
/// live only as long as an access token.
/// </summary>
internal sealed class IdTokenHintValidator(GatewayIssuer issuer, KeyRing keyRing, TrustFrameworkMonitor monitor)
{
    /// <summary>Longer than any ID token this gateway issues; refused before parsing.</summary>
    public const int MaximumHintLength = 4096;

    private readonly JsonWebTokenHandler handler = new() { MapInboundClaims = false };

    public async ValueTask<IdTokenHintValidation> ValidateAsync(string? hint, string? clientId)
    {
        if (string.IsNullOrEmpty(hint))
        {
            return Refused("no id_token_hint was sent");
        }

        if (hint.Length > MaximumHintLength)
        {
            return Refused("the id_token_hint is too long to be one of ours");
        }

        var result = await handler.ValidateTokenAsync(hint, new TokenValidationParameters
        {
            ValidIssuer = issuer.Identifier,
            ValidateIssuer = true,
            // OpenID Connect Core §2: an ID token is typ JWT; an access token (at+jwt) is not taken for one.
            ValidTypes = ["JWT"],
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            IssuerSigningKeys = keyRing.PublicSigningKeys().ToArray(),
            TryAllIssuerSigningKeys = false,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = false,
            // The audience is checked below against the councils in force; an expired hint is still a hint (§2).
            ValidateAudience = false,
            ValidateLifetime = false,
            RequireExpirationTime = false,
        });
        if (!result.IsValid)
        {
            return Refused("the id_token_hint is not an ID token this gateway issued");
        }

        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(((JsonWebToken)result.SecurityToken).EncodedPayload));
        var claims = payload.RootElement;
        // The ID tokens issued here name one audience, the council (OpenIddict writes a single audience as a string).
        if (!claims.TryGetProperty("aud", out var audience) || audience.ValueKind != JsonValueKind.String
            || audience.GetString() is not { Length: > 0 } audienceId || !monitor.Current.TryGetCouncilByClientId(audienceId, out _))
        {
            return Refused("the id_token_hint was not issued to a council of the trust framework in force");
        }

        if (clientId is not null && !string.Equals(clientId, audienceId, StringComparison.Ordinal))
        {
            return Refused("client_id does not name the council the id_token_hint was issued to");
        }

        if (!claims.TryGetProperty("sub", out var subject) || subject.ValueKind != JsonValueKind.String || subject.GetString() is not { Length: > 0 } subjectId)
        {
            return Refused("the id_token_hint has no subject");
        }

        return new IdTokenHintValidation(new IdTokenHint(audienceId, subjectId), null);
    }

    private static IdTokenHintValidation Refused(string failure) => new(null, failure);
}
