using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.Consents;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>
/// <c>grant_type=authorization_code</c> at the token endpoint (RFC 6749 §4.1.3), in order: <c>code</c>,
/// <c>redirect_uri</c> and <c>code_verifier</c> present → the code is known, unexpired and unredeemed (a replay
/// revokes what it issued, §4.1.2) → issued to this client (§4.1.3) → the same redirect URI, exactly (§4.1.3) →
/// the verifier matches the S256 challenge (RFC 7636 §4.6) → the consent is still authorised.
/// </summary>
internal sealed class AuthorizationCodeExchange(
    IAuthorizationCodeStore codes,
    ConsentTokenRegistry tokens,
    ConsentService consents,
    TimeProvider timeProvider,
    ILogger<AuthorizationCodeExchange> logger)
{
    public const string Grant = "authorization_code";

    /// <summary>The redeemed grant, or the refusal.</summary>
    public async Task<(AuthorizationCodeGrant? Grant, Consent? Consent, OAuthError? Error)> RedeemAsync(TokenRequest request, OAuthClient client, CancellationToken cancellationToken)
    {
        var code = request.Parameter("code");
        var redirectUri = request.Parameter(PushedAuthorizationEndpoint.Parameters.RedirectUri);
        var verifier = request.Parameter("code_verifier");
        if (code is null || redirectUri is null)
        {
            return Fail(OAuthError.InvalidRequest("code and redirect_uri are required (RFC 6749 section 4.1.3)."));
        }

        // RFC 7636 §4.1: 43-128 characters of [A-Z a-z 0-9 - . _ ~].
        if (verifier is null || verifier.Length is < 43 or > 128 || !verifier.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~'))
        {
            return Fail(OAuthError.InvalidRequest("code_verifier is required: 43 to 128 unreserved characters (RFC 7636 section 4.1)."));
        }

        switch (await codes.RedeemAsync(code, cancellationToken))
        {
            case CodeRedemption.Refused refused:
                if (refused.IssuedFamilyIds.Length > 0)
                {
                    // RFC 6749 §4.1.2: a code used twice means it leaked; what it issued is revoked.
                    foreach (var familyId in refused.IssuedFamilyIds)
                    {
                        tokens.RevokeFamilyById(familyId);
                    }

                    Log.AuthorizationCodeReplayed(logger, client.ClientId);
                }

                return Fail(InvalidGrant("The authorization code is unknown, expired or already used."));
            case CodeRedemption.Redeemed { Grant: var grant }:
                if (!string.Equals(grant.ClientId, client.ClientId, StringComparison.Ordinal))
                {
                    return Fail(InvalidGrant("The authorization code was issued to another client (RFC 6749 section 4.1.3)."));
                }

                if (!string.Equals(grant.RedirectUri.OriginalString, redirectUri, StringComparison.Ordinal))
                {
                    return Fail(InvalidGrant("redirect_uri differs from the one in the authorization request (RFC 6749 section 4.1.3)."));
                }

                if (!VerifierMatches(verifier, grant.CodeChallenge))
                {
                    return Fail(InvalidGrant("code_verifier does not match the code_challenge (RFC 7636 section 4.6)."));
                }

                var consent = await consents.FindAsync(grant.ConsentId, cancellationToken);
                if (consent is null || consent.StatusAt(timeProvider.GetUtcNow()) != ConsentStatus.Authorised)
                {
                    return Fail(InvalidGrant("The consent is no longer authorised."));
                }

                return (grant, consent, null);
            default:
                return Fail(InvalidGrant("The authorization code is unknown, expired or already used."));
        }
    }

    /// <summary>Remembers the token family the code started, so that replaying the code revokes it.</summary>
    public ValueTask RecordIssuedAsync(TokenRequest request, string familyId, CancellationToken cancellationToken) =>
        codes.RecordIssuedAsync(request.Parameter("code")!, familyId, cancellationToken);

    /// <summary>RFC 7636 §4.6: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) == code_challenge, compared in constant time.</summary>
    private static bool VerifierMatches(string verifier, string challenge)
    {
        var computed = Encoding.ASCII.GetBytes(Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
        return CryptographicOperations.FixedTimeEquals(computed, Encoding.ASCII.GetBytes(challenge));
    }

    /// <summary>RFC 6749 §5.2 <c>invalid_grant</c>.</summary>
    private static OAuthError InvalidGrant(string description) => new(OAuthErrorCodes.InvalidGrant, description, StatusCodes.Status400BadRequest);

    private static (AuthorizationCodeGrant?, Consent?, OAuthError?) Fail(OAuthError error) => (null, null, error);
}
