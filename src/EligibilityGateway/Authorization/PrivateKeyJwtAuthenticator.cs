using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.TrustFramework;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>
/// <c>private_key_jwt</c>: the client proves possession of a private key with a signed JWT (RFC 7523 §2.2, §3;
/// RFC 7521 §4.2; OpenID Connect Core 1.0 §9), whose public half the trust framework holds. Each step below is one
/// rule; the first that fails decides the refusal.
/// </summary>
internal sealed class PrivateKeyJwtAuthenticator(
    GatewayIssuer issuer,
    IClientAssertionReplayCache replayCache,
    TimeProvider timeProvider,
    ILogger<PrivateKeyJwtAuthenticator> logger)
{
    public const string Method = ClientAuthentication.PrivateKeyJwtMethod;

    /// <summary>RFC 7523 §2.2.</summary>
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>An assertion may not be valid for longer than this from now: it is made for one request, not kept.</summary>
    public static readonly TimeSpan MaximumLifetime = TimeSpan.FromMinutes(5);

    /// <summary>Tolerated difference between the client's clock and ours, on every time claim.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    /// <summary>Algorithms accepted, by key type: never <c>none</c> (RFC 7523 §3 item 9), never a MAC (HS*: no shared keys exist).</summary>
    public static readonly IReadOnlyList<string> SupportedAlgorithms = [SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSha256];

    private const int MaximumAssertionLength = 8 * 1024;
    private const int MaximumTokenIdLength = 256;

    private static readonly ConditionalWeakTable<PublicJsonWebKey, SecurityKey> KeysByJwk = [];

    public async ValueTask<ClientAuthenticationResult> AuthenticateAsync(TokenRequest request, TrustFrameworkSnapshot framework, CancellationToken cancellationToken)
    {
        if (CheckAssertionType(request) is { } typeError)
        {
            return ClientAuthenticationResult.Failed(Method, typeError);
        }

        if (!TryRead(request.ClientAssertion!, out var assertion))
        {
            return Refuse("The client assertion is not a signed JWT in compact serialization (RFC 7515 section 7.1).");
        }

        if (CheckAlgorithm(assertion) is { } algorithmError)
        {
            return Refuse(algorithmError);
        }

        if (CheckIssuerAndSubject(assertion, request.ClientId) is { } subjectError)
        {
            return ClientAuthenticationResult.Failed(Method, subjectError);
        }

        if (!OAuthClient.TryFind(framework, assertion.Issuer, out var client))
        {
            return Refuse("Client authentication failed.");
        }

        if (client.Authentication is not PrivateKeyJwtAuthentication registered)
        {
            return Refuse($"This client authenticates with {client.Authentication.Method}.");
        }

        if (CheckAudience(assertion) is { } audienceError)
        {
            return Refuse(audienceError);
        }

        if (CheckLifetime(assertion, timeProvider.GetUtcNow(), out var expiresAt) is { } lifetimeError)
        {
            return Refuse(lifetimeError);
        }

        // The signature is checked before the jti is recorded, so unsigned junk cannot use up a client's ids.
        if ((CheckTokenId(assertion) ?? VerifySignature(assertion, registered)) is { } proofError)
        {
            return Refuse(proofError);
        }

        return await CheckReplayAsync(client, assertion.Id, expiresAt, cancellationToken) is { } replayError
            ? ClientAuthenticationResult.Failed(Method, replayError)
            : ClientAuthenticationResult.Succeeded(client, Method);
    }

    private static ClientAuthenticationResult Refuse(string description) =>
        ClientAuthenticationResult.Failed(Method, OAuthError.InvalidClient(description));

    /// <summary>RFC 7521 §4.2: <c>client_assertion_type</c> and <c>client_assertion</c> are both required; RFC 7523 §2.2 names the one type.</summary>
    private static OAuthError? CheckAssertionType(TokenRequest request) =>
        request.ClientAssertionType is null || request.ClientAssertion is null
            ? OAuthError.InvalidRequest("client_assertion and client_assertion_type must be sent together (RFC 7521 section 4.2).")
            : request.ClientAssertionType != AssertionType
                ? OAuthError.InvalidRequest($"client_assertion_type must be {AssertionType} (RFC 7523 section 2.2).")
                : null;

    private static bool TryRead(string value, out JsonWebToken token)
    {
        token = null!;
        if (value.Length > MaximumAssertionLength)
        {
            return false;
        }

        try
        {
            token = new JsonWebToken(value);
            // RFC 7523 §3 item 9 requires a signature; an encrypted (JWE) or unsigned token proves nothing.
            return !token.IsEncrypted && token.EncodedSignature.Length > 0;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// RFC 7523 §3 item 9 and RFC 8725 §3.1: the algorithm is checked against an allow-list before anything else,
    /// so <c>none</c> and HMAC algorithms (which would take a public key as the shared secret) never reach a verifier.
    /// </summary>
    private static string? CheckAlgorithm(JsonWebToken assertion) =>
        SupportedAlgorithms.Contains(assertion.Alg, StringComparer.Ordinal)
            ? null
            : $"Client assertions must be signed with one of {string.Join(", ", SupportedAlgorithms)}.";

    /// <summary>
    /// RFC 7523 §3 items 1 and 2, OIDC Core §9: <c>iss</c> and <c>sub</c> are both the client id. RFC 7521 §4.2: a
    /// <c>client_id</c> parameter, when sent, names the same client.
    /// </summary>
    private static OAuthError? CheckIssuerAndSubject(JsonWebToken assertion, string? clientIdParameter)
    {
        if (string.IsNullOrEmpty(assertion.Issuer) || !string.Equals(assertion.Issuer, assertion.Subject, StringComparison.Ordinal))
        {
            return OAuthError.InvalidClient("The assertion's iss and sub must both be the client id (RFC 7523 section 3).");
        }

        return clientIdParameter is not null && !string.Equals(clientIdParameter, assertion.Issuer, StringComparison.Ordinal)
            ? OAuthError.InvalidClient("client_id differs from the assertion's sub (RFC 7521 section 4.2).")
            : null;
    }

    /// <summary>
    /// RFC 7523 §3 item 3, narrowed: the audience is the issuer identifier, and only that. The token endpoint
    /// URL is not accepted, nor an array naming other audiences too: an assertion valid at several places can be
    /// replayed between them (the "audience injection" weakness that draft-ietf-oauth-rfc7523bis closes).
    /// </summary>
    private string? CheckAudience(JsonWebToken assertion)
    {
        using var audiences = assertion.Audiences.GetEnumerator();
        return audiences.MoveNext() && audiences.Current == issuer.Value && !audiences.MoveNext()
            ? null
            : "The assertion's aud must be exactly the issuer identifier (RFC 7523 section 3; see the discovery document).";
    }

    /// <summary>
    /// RFC 7523 §3 items 4-6: <c>exp</c> is required and in the future; <c>nbf</c> and <c>iat</c>, when present, are not
    /// in the future. Beyond the RFC, <c>exp</c> is at most <see cref="MaximumLifetime"/> away, which bounds how long
    /// the replay cache must remember the assertion. Each comparison allows <see cref="ClockSkew"/>.
    /// </summary>
    private static string? CheckLifetime(JsonWebToken assertion, DateTimeOffset now, out DateTimeOffset expiresAt)
    {
        expiresAt = default;
        if (!TryGetNumericDate(assertion, AccessTokenClaims.Expires, out expiresAt))
        {
            return "The assertion has no exp (RFC 7523 section 3).";
        }

        if (expiresAt + ClockSkew <= now)
        {
            return "The assertion has expired (RFC 7523 section 3).";
        }

        if (expiresAt > now + MaximumLifetime + ClockSkew)
        {
            return $"The assertion's exp is more than {MaximumLifetime.TotalMinutes:0} minutes away.";
        }

        if (TryGetNumericDate(assertion, AccessTokenClaims.NotBefore, out var notBefore) && notBefore > now + ClockSkew)
        {
            return "The assertion is not valid yet (nbf, RFC 7523 section 3).";
        }

        return TryGetNumericDate(assertion, AccessTokenClaims.IssuedAt, out var issuedAt) && issuedAt > now + ClockSkew
            ? "The assertion's iat is in the future (RFC 7523 section 3)."
            : null;
    }

    /// <summary>OIDC Core §9 makes <c>jti</c> required (RFC 7523 §3 item 7 lets the server insist), so that it can be single use.</summary>
    private static string? CheckTokenId(JsonWebToken assertion) =>
        assertion.Id is { Length: > 0 and <= MaximumTokenIdLength }
            ? null
            : $"The assertion needs a jti of 1 to {MaximumTokenIdLength} characters (OpenID Connect Core section 9).";

    /// <summary>
    /// RFC 7523 §3 item 9, RFC 7515 §5.2: the signature verifies under a key of the client's JWKS from the trust
    /// framework. With a <c>kid</c> only that key is tried; the key type must fit the algorithm (EC P-256 for ES256,
    /// RSA for PS256 and RS256), and a key that declares an <c>alg</c> is used with that algorithm only.
    /// </summary>
    private static string? VerifySignature(JsonWebToken assertion, PrivateKeyJwtAuthentication registered)
    {
        byte[] signature;
        try
        {
            signature = Base64UrlEncoder.DecodeBytes(assertion.EncodedSignature);
        }
        catch (FormatException)
        {
            return "The assertion's signature is not base64url.";
        }

        var signingInput = Encoding.ASCII.GetBytes(assertion.EncodedHeader + "." + assertion.EncodedPayload);
        var kid = string.IsNullOrEmpty(assertion.Kid) ? null : assertion.Kid;
        var candidates = 0;
        foreach (var jwk in registered.Keys)
        {
            if ((kid is not null && jwk.Kid != kid) || !Fits(jwk, assertion.Alg))
            {
                continue;
            }

            candidates++;
            var key = KeysByJwk.GetValue(jwk, ToSecurityKey);
            var provider = key.CryptoProviderFactory.CreateForVerifying(key, assertion.Alg);
            try
            {
                if (provider.Verify(signingInput, signature))
                {
                    return null;
                }
            }
            finally
            {
                key.CryptoProviderFactory.ReleaseSignatureProvider(provider);
            }
        }

        return candidates == 0
            ? "No key registered for this client fits the assertion's kid and alg."
            : "The assertion's signature does not verify with the client's registered keys.";
    }

    /// <summary>RFC 7523 §3 item 7 / OIDC Core §9: each <c>jti</c> once, remembered until the assertion could no longer be accepted.</summary>
    private async ValueTask<OAuthError?> CheckReplayAsync(OAuthClient client, string tokenId, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        switch (await replayCache.TryRecordAsync(client.ClientId, tokenId, expiresAt + ClockSkew, cancellationToken))
        {
            case ReplayCheck.FirstUse:
                return null;
            case ReplayCheck.Replayed:
                Log.AssertionReplayed(logger, client.ClientId, tokenId);
                return OAuthError.InvalidClient("This client assertion has been used already (its jti is single use).");
            default:
                return OAuthError.TemporarilyUnavailable("Client assertions cannot be checked for replay at the moment; retry shortly.");
        }
    }

    private static bool Fits(PublicJsonWebKey jwk, string alg)
    {
        if (jwk.Alg is not null && jwk.Alg != alg)
        {
            return false;
        }

        return jwk.Kty switch
        {
            JsonWebAlgorithmsKeyTypes.EllipticCurve => jwk.Crv == JsonWebKeyECTypes.P256 && alg == SecurityAlgorithms.EcdsaSha256,
            JsonWebAlgorithmsKeyTypes.RSA => alg is SecurityAlgorithms.RsaSsaPssSha256 or SecurityAlgorithms.RsaSha256,
            _ => false,
        };
    }

    /// <summary>Built once per key record; a reload brings new records, so changed keys are never served stale.</summary>
    private static SecurityKey ToSecurityKey(PublicJsonWebKey jwk) => jwk.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve
        ? new ECDsaSecurityKey(ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(jwk.X), Y = Base64UrlEncoder.DecodeBytes(jwk.Y) },
        })) { KeyId = jwk.Kid }
        : new RsaSecurityKey(new RSAParameters { Modulus = Base64UrlEncoder.DecodeBytes(jwk.N), Exponent = Base64UrlEncoder.DecodeBytes(jwk.E) }) { KeyId = jwk.Kid };

    /// <summary>RFC 7519 §2 NumericDate: seconds since the epoch, integer or not.</summary>
    private static bool TryGetNumericDate(JsonWebToken token, string claim, out DateTimeOffset value)
    {
        value = default;
        double seconds;
        if (token.TryGetPayloadValue<long>(claim, out var whole))
        {
            seconds = whole;
        }
        else if (!token.TryGetPayloadValue(claim, out seconds))
        {
            return false;
        }

        if (double.IsNaN(seconds) || seconds < 0 || seconds > 253_402_300_799)
        {
            return false;
        }

        value = DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000));
        return true;
    }
}
