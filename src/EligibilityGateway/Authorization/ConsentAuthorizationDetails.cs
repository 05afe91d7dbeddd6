using System.Text.Json;

namespace EligibilityGateway.Authorization;

/// <summary>
/// The consent an access token is bound to, as RFC 9396 authorization details: the JWT claim
/// <c>authorization_details</c> is an array holding exactly one object <c>{"type": "eligibility-check",
/// "consent_id": "…"}</c> (RFC 9396). A token without the claim is not consent-bound (client credentials). Whoever
/// issues consent-bound tokens writes this shape; <see cref="AccessTokenReader"/> reads it with
/// <see cref="TryRead"/>, and the API reads the result with <see cref="CallerExtensions.GetConsentId"/>.
/// </summary>
internal static class ConsentAuthorizationDetails
{
    /// <summary>RFC 9396 §9.1: the JWT claim name.</summary>
    public const string Claim = "authorization_details";

    /// <summary>The authorization-details type of an eligibility check under a consent.</summary>
    public const string Type = "eligibility-check";

    /// <summary>The member of an <see cref="Type"/> object naming the consent.</summary>
    public const string ConsentIdMember = "consent_id";

    /// <summary>The claim on the authenticated principal that carries the consent id once the token is validated.</summary>
    public const string ConsentIdClaim = "consent_id";

    /// <summary>Longer than any consent id this gateway makes; anything longer is not one of ours.</summary>
    public const int MaxConsentIdLength = 64;

    /// <summary>
    /// Reads the consent id from a token payload. True with a null id when the claim is absent; false when the claim is
    /// present but not exactly one well-formed <see cref="Type"/> object — a shape this gateway never issues, so the
    /// token is refused rather than read as "no consent".
    /// </summary>
    public static bool TryRead(JsonElement payload, out string? consentId)
    {
        consentId = null;
        if (!payload.TryGetProperty(Claim, out var details))
        {
            return true;
        }

        if (details.ValueKind != JsonValueKind.Array || details.GetArrayLength() != 1)
        {
            return false;
        }

        var detail = details[0];
        if (detail.ValueKind != JsonValueKind.Object
            || !detail.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != Type
            || !detail.TryGetProperty(ConsentIdMember, out var id) || id.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        var value = id.GetString()!;
        if (value.Length is 0 or > MaxConsentIdLength || !value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return false;
        }

        consentId = value;
        return true;
    }
}
