using System.Collections.Immutable;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>What the API knows about a caller once its access token has been validated.</summary>
/// <param name="ConsentId">The consent the token is bound to (<see cref="ConsentAuthorizationDetails"/>); null for client credentials.</param>
/// <param name="EntryId">
/// The token's row in the authorization server's store (<c>oi_tkn_id</c>), which consent-bound tokens have and
/// client-credentials tokens do not: its status says whether the token was revoked (RFC 7009, its family, a replayed code).
/// </param>
internal sealed record ValidatedAccessToken(string ClientId, string Subject, string TokenId, ImmutableArray<string> Scopes, DateTimeOffset? NotBefore, DateTimeOffset ExpiresAt, string? ConsentId = null, string? EntryId = null);

/// <summary>A validated token, or why it was refused (a fixed phrase, safe to return to the caller).</summary>
internal readonly record struct AccessTokenValidation(ValidatedAccessToken? Token, string? Failure)
{
    public static AccessTokenValidation Refused(string failure) => new(null, failure);
}

/// <summary>
/// Reads the RFC 9068 §2.2 claims of an access token whose signature, <c>typ</c>, <c>iss</c>, <c>aud</c> and
/// lifetime the <c>Bearer</c> scheme's <see cref="TokenValidationParameters"/> have already checked, and refuses a
/// token revoked by <c>jti</c>. Only the RFC 9068 shape is relied on, not the library that issued the token.
/// </summary>
internal sealed class AccessTokenReader(RevokedAccessTokens revoked)
{
    /// <summary>The claim naming a token's row in the authorization server's store.</summary>
    public const string EntryIdClaim = "oi_tkn_id";

    /// <summary>The claims of a token the library has validated, read from its signed payload.</summary>
    public AccessTokenValidation Read(JsonWebToken token)
    {
        // RFC 7515 §4.1.11: a recipient must refuse a JWS whose crit names extensions it does not understand, and this
        // gateway understands none. The library does not look at crit.
        if (token.TryGetHeaderValue<object>("crit", out _))
        {
            return AccessTokenValidation.Refused("The access token's header has critical extensions this gateway does not understand (RFC 7515 section 4.1.11).");
        }

        // The claims are read from the signed payload itself: the token classes turn numbers into strings, and a claim
        // of another JSON type is not the RFC 9068 shape.
        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.EncodedPayload));
        var claims = payload.RootElement;
        if (!TryGetString(claims, AccessTokenClaims.ClientId, out var clientId)
            || !TryGetString(claims, AccessTokenClaims.Scope, out var scope)
            || !TryGetString(claims, AccessTokenClaims.Subject, out var subject)
            || !TryGetString(claims, AccessTokenClaims.TokenId, out var tokenId))
        {
            return AccessTokenValidation.Refused("The access token lacks client_id, scope, sub or jti as strings (RFC 9068 section 2.2).");
        }

        if (!ConsentAuthorizationDetails.TryRead(claims, out var consentId))
        {
            return AccessTokenValidation.Refused("The access token's authorization_details are not in the form this gateway issues (RFC 9396).");
        }

        // Consulted on every request: a revocation (RFC 7009, a replayed code, RFC 6749 §4.1.2) takes effect at once.
        if (revoked.IsRevoked(tokenId))
        {
            return AccessTokenValidation.Refused("The access token has been revoked.");
        }

        return new AccessTokenValidation(
            new ValidatedAccessToken(
                clientId,
                subject,
                tokenId,
                [.. scope.Split(' ', StringSplitOptions.RemoveEmptyEntries)],
                claims.TryGetProperty(AccessTokenClaims.NotBefore, out _) ? new DateTimeOffset(token.ValidFrom, TimeSpan.Zero) : null,
                new DateTimeOffset(token.ValidTo, TimeSpan.Zero),
                consentId,
                TryGetString(claims, EntryIdClaim, out var entryId) ? entryId : null),
            null);
    }

    private static bool TryGetString(JsonElement claims, string name, out string value)
    {
        value = claims.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.String ? element.GetString()! : string.Empty;
        return value.Length > 0;
    }
}
