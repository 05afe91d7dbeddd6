using System.Collections.Immutable;
using EligibilityGateway.Consents;

namespace EligibilityGateway.Authorization;

/// <summary>
/// <c>grant_type=refresh_token</c> at the token endpoint (RFC 6749 §6), in order: <c>refresh_token</c> present →
/// known, this client's, unrevoked and unexpired, and not used before except once within the rotation grace
/// (<see cref="ConsentTokenRegistry"/>) → <c>scope</c>, if sent, within the original grant (§6) → the consent is still
/// authorised (refresh fails once it is revoked or expired). A used token is rotated (RFC 9700 §4.14.2).
/// </summary>
internal sealed class RefreshTokenExchange(ConsentTokenRegistry tokens, ConsentService consents, TimeProvider timeProvider, ILogger<RefreshTokenExchange> logger)
{
    public const string Grant = "refresh_token";

    public async Task<(RefreshTokenRecord? Record, ImmutableArray<string> Scopes, Consent? Consent, OAuthError? Error)> RedeemAsync(TokenRequest request, OAuthClient client, CancellationToken cancellationToken)
    {
        if (request.Parameter(Grant) is not { } token)
        {
            return Fail(OAuthError.InvalidRequest("refresh_token is required (RFC 6749 section 6)."));
        }

        // The scope is checked before the token is used, so a bad request does not spend the refresh token.
        if (tokens.FindActiveRefreshToken(token, client.ClientId) is { } current && request.Scope is { } asked
            && asked.Split(' ').Any(s => !current.Scopes.Contains(s)))
        {
            return Fail(OAuthError.InvalidScope("scope may only narrow the original grant (RFC 6749 section 6)."));
        }

        if (tokens.Use(token, client.ClientId) is RefreshUse.Refused refused)
        {
            Log.RefreshTokenRefused(logger, client.ClientId, refused.Description);
            return Fail(InvalidGrant(refused.Description));
        }

        var record = tokens.FindRecordAfterUse(token);
        var consent = await consents.FindAsync(record.ConsentId, cancellationToken);
        if (consent is null || consent.StatusAt(timeProvider.GetUtcNow()) != ConsentStatus.Authorised)
        {
            return Fail(InvalidGrant("The consent is no longer authorised."));
        }

        ImmutableArray<string> scopes = request.Scope is { } narrowed ? [.. record.Scopes.Where(narrowed.Split(' ').Contains)] : record.Scopes;
        return (record, scopes, consent, null);
    }

    private static OAuthError InvalidGrant(string description) => new(OAuthErrorCodes.InvalidGrant, description, StatusCodes.Status400BadRequest);

    private static (RefreshTokenRecord?, ImmutableArray<string>, Consent?, OAuthError?) Fail(OAuthError error) => (null, [], null, error);
}
