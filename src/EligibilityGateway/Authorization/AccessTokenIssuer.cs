using System.Collections.Immutable;
using System.Security.Cryptography;
using EligibilityGateway.Security;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>An access token just made, and what the audit trail needs to know about it.</summary>
/// <param name="Token">The compact JWT; hand it to the client only, never to a log or a record.</param>
internal sealed record IssuedAccessToken(
    string Token,
    string TokenId,
    string ClientId,
    ClientKind ClientKind,
    string ParticipantId,
    string GrantType,
    string ClientAuthenticationMethod,
    ImmutableArray<string> Scopes,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string FrameworkId,
    string FrameworkVersion)
{
    /// <summary>RFC 6749 §3.3 form: space-separated.</summary>
    public string Scope => string.Join(' ', Scopes);

    /// <summary>Never prints the token itself.</summary>
    public override string ToString() => $"IssuedAccessToken {{ {TokenId}, {ClientId}, {Scope}, expires {ExpiresAt:O} }}";
}

/// <summary>
/// Told of every access token before it leaves the token endpoint; the audit trail implements this and
/// registers it with <c>services.AddSingleton&lt;IAccessTokenIssuanceRecorder, …&gt;()</c>. Every registered
/// recorder is awaited; if one throws, the client gets 503 <c>temporarily_unavailable</c> and no token, so no token
/// is ever in circulation without its record.
/// </summary>
internal interface IAccessTokenIssuanceRecorder
{
    ValueTask RecordAsync(IssuedAccessToken issued, CancellationToken cancellationToken);
}

/// <summary>
/// Mints JWT access tokens (RFC 9068): header <c>typ: at+jwt</c>, <c>alg: ES256</c>, <c>kid</c> of the active
/// signing key; claims <c>iss</c>, <c>aud</c>, <c>sub</c>, <c>client_id</c>, <c>scope</c>, <c>iat</c>, <c>nbf</c>,
/// <c>exp</c>, <c>jti</c>.
/// </summary>
internal sealed class AccessTokenIssuer
{
    private readonly JsonWebTokenHandler handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly SigningCredentials credentials;
    private readonly GatewayIssuer issuer;
    private readonly TimeProvider timeProvider;
    private readonly TimeSpan lifetime;

    public AccessTokenIssuer(KeyRing keyRing, GatewayIssuer issuer, TimeProvider timeProvider, IOptions<AuthorizationServerOptions> options)
    {
        credentials = new SigningCredentials(keyRing.ActiveSigningKey, SecurityAlgorithms.EcdsaSha256);
        this.issuer = issuer;
        this.timeProvider = timeProvider;
        lifetime = options.Value.AccessTokenLifetime;
    }

    /// <summary>The configured lifetime, which is also the token response's <c>expires_in</c>.</summary>
    public TimeSpan Lifetime => lifetime;

    /// <summary>Issues a token to a client for itself (client credentials: <c>sub</c> = <c>client_id</c>, RFC 9068 §2.2).</summary>
    public IssuedAccessToken IssueForClient(OAuthClient client, string grantType, string authenticationMethod, ImmutableArray<string> scopes) =>
        Issue(client, grantType, authenticationMethod, scopes, client.ClientId, consentId: null);

    /// <summary>
    /// Issues a token bound to a consent: <c>sub</c> is the citizen's pairwise identifier for this council (never
    /// an NI number) and <c>authorization_details</c> names the consent (RFC 9396 §9.1, <see cref="ConsentAuthorizationDetails"/>).
    /// </summary>
    public IssuedAccessToken IssueForConsent(OAuthClient client, string grantType, string authenticationMethod, ImmutableArray<string> scopes, string subject, string consentId) =>
        Issue(client, grantType, authenticationMethod, scopes, subject, consentId);

    /// <summary>
    /// OpenID Connect Core §3.1.3.3: the ID token of a code exchange whose grant includes <c>openid</c>, signed like the
    /// access tokens (ES256, <c>typ: JWT</c>): <c>iss</c>, <c>sub</c> (the same pairwise identifier), <c>aud</c> = the
    /// council's client id, <c>iat</c>, <c>exp</c>, <c>nonce</c> when one was pushed (§3.1.3.6), and <c>at_hash</c>
    /// (§3.1.3.8: the left half of the SHA-256 of the access token). It says only who authorised, never who they are.
    /// </summary>
    public string IssueIdToken(string clientId, string subject, string? nonce, IssuedAccessToken accessToken)
    {
        var hash = SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(accessToken.Token));
        var claims = new Dictionary<string, object>(3, StringComparer.Ordinal)
        {
            [AccessTokenClaims.Subject] = subject,
            ["at_hash"] = Base64UrlEncoder.Encode(hash[..(hash.Length / 2)]),
        };
        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }

        return handler.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = "JWT",
            Issuer = issuer.Value,
            Audience = clientId,
            IssuedAt = accessToken.IssuedAt.UtcDateTime,
            Expires = accessToken.ExpiresAt.UtcDateTime,
            SigningCredentials = credentials,
            Claims = claims,
        });
    }

    private IssuedAccessToken Issue(OAuthClient client, string grantType, string authenticationMethod, ImmutableArray<string> scopes, string subject, string? consentId)
    {
        // JWT NumericDate is whole seconds; truncating here keeps what the token says and what is recorded identical.
        var now = DateTimeOffset.FromUnixTimeSeconds(timeProvider.GetUtcNow().ToUnixTimeSeconds());
        var expires = now + lifetime;
        var tokenId = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var scope = string.Join(' ', scopes);
        var token = handler.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = AccessTokenClaims.TokenType,
            Issuer = issuer.Value,
            Audience = AccessTokenClaims.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = credentials,
            Claims = Claims(client.ClientId, subject, scope, tokenId, consentId),
        });

        var definition = client.Framework.Definition;
        return new IssuedAccessToken(token, tokenId, client.ClientId, client.Kind, client.ParticipantId, grantType, authenticationMethod, scopes, now, expires, definition.Id, definition.Version);
    }

    private static Dictionary<string, object> Claims(string clientId, string subject, string scope, string tokenId, string? consentId)
    {
        var claims = new Dictionary<string, object>(5, StringComparer.Ordinal)
        {
            [AccessTokenClaims.Subject] = subject,
            [AccessTokenClaims.ClientId] = clientId,
            [AccessTokenClaims.Scope] = scope,
            [AccessTokenClaims.TokenId] = tokenId,
        };
        if (consentId is not null)
        {
            claims[ConsentAuthorizationDetails.Claim] = new List<object>
            {
                new Dictionary<string, object> { ["type"] = ConsentAuthorizationDetails.Type, [ConsentAuthorizationDetails.ConsentIdMember] = consentId },
            };
        }

        return claims;
    }
}
