using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>What the API knows about a caller once its access token has been validated.</summary>
/// <param name="ConsentId">The consent the token is bound to (<see cref="ConsentAuthorizationDetails"/>); null for client credentials.</param>
internal sealed record ValidatedAccessToken(string ClientId, string Subject, string TokenId, ImmutableArray<string> Scopes, DateTimeOffset? NotBefore, DateTimeOffset ExpiresAt, string? ConsentId = null);

/// <summary>A validated token, or why it was refused (a fixed phrase, safe to return to the caller).</summary>
internal readonly record struct AccessTokenValidation(ValidatedAccessToken? Token, string? Failure)
{
    public static AccessTokenValidation Refused(string failure) => new(null, failure);
}

/// <summary>
/// Validates the gateway's own access tokens (RFC 9068 §4) with <see cref="JsonWebTokenHandler"/>: <c>typ</c>
/// <c>at+jwt</c>, <c>alg</c> ES256 only (so never <c>none</c>), signature by a published key, <c>iss</c> the gateway,
/// <c>aud</c> <c>eligibility-gateway</c>, and <c>nbf</c>/<c>exp</c> within <see cref="ClockSkew"/>, against the
/// injected clock. Tokens that pass are remembered (bounded, keyed by SHA-256 of the token) until they expire, so
/// a busy caller costs one ECDSA verification per token rather than per request.
/// </summary>
internal sealed class AccessTokenValidator
{
    /// <summary>Tolerance for clock differences between replicas; every replica signs, every replica validates.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    /// <summary>Live tokens remembered at most; each entry is under 200 bytes.</summary>
    public const int CacheCapacity = 50_000;

    /// <summary>Longer than any token this gateway issues; refused before hashing or parsing.</summary>
    public const int MaximumTokenLength = 4096;

    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly JsonWebTokenHandler handler = new() { MapInboundClaims = false };
    private readonly ConcurrentDictionary<UInt128, ValidatedAccessToken> cache = new();
    private readonly GatewayIssuer issuer;
    private readonly KeyRing keyRing;
    private readonly TimeProvider timeProvider;
    private readonly RevokedAccessTokens revoked;
    private TokenValidationParameters? parameters;
    private long nextSweepTicks;

    public AccessTokenValidator(GatewayIssuer issuer, KeyRing keyRing, TimeProvider timeProvider, RevokedAccessTokens revoked)
    {
        this.revoked = revoked;
        this.issuer = issuer;
        this.keyRing = keyRing;
        this.timeProvider = timeProvider;
    }

    /// <summary>How many validated tokens are remembered (for tests and diagnostics).</summary>
    public int CachedCount => cache.Count;

    public async ValueTask<AccessTokenValidation> ValidateAsync(string token)
    {
        if (token.Length is 0 or > MaximumTokenLength)
        {
            return AccessTokenValidation.Refused("The access token is malformed.");
        }

        var key = Hash(token);
        var now = timeProvider.GetUtcNow();
        if (cache.TryGetValue(key, out var remembered))
        {
            // The revocation set is consulted on every request, so a remembered "valid" never outlives a revocation.
            return (CheckLifetime(remembered, now) ?? CheckRevoked(remembered)) is { } lapsed
                ? AccessTokenValidation.Refused(lapsed)
                : new AccessTokenValidation(remembered, null);
        }

        var result = await handler.ValidateTokenAsync(token, Parameters());
        if (!result.IsValid)
        {
            return AccessTokenValidation.Refused(Describe(result.Exception));
        }

        // The claims are read from the signed payload itself: the token classes turn numbers into strings, and a
        // claim of the wrong JSON type means the token was not made by this gateway.
        using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(((JsonWebToken)result.SecurityToken).EncodedPayload));
        var claims = payload.RootElement;
        if (!TryGetString(claims, AccessTokenClaims.ClientId, out var clientId)
            || !TryGetString(claims, AccessTokenClaims.Scope, out var scope)
            || !TryGetString(claims, AccessTokenClaims.Subject, out var subject)
            || !TryGetString(claims, AccessTokenClaims.TokenId, out var tokenId))
        {
            return AccessTokenValidation.Refused("The access token lacks client_id, scope, sub or jti as strings (RFC 9068 section 2.2).");
        }

        if (!TryGetNumericDate(claims, AccessTokenClaims.Expires, out var expiresAt))
        {
            return AccessTokenValidation.Refused("The access token has no expiry.");
        }

        if (!ConsentAuthorizationDetails.TryRead(claims, out var consentId))
        {
            return AccessTokenValidation.Refused("The access token's authorization_details are not in the form this gateway issues (RFC 9396).");
        }

        var validated = new ValidatedAccessToken(
            clientId,
            subject,
            tokenId,
            [.. scope.Split(' ', StringSplitOptions.RemoveEmptyEntries)],
            TryGetNumericDate(claims, AccessTokenClaims.NotBefore, out var notBefore) ? notBefore : null,
            expiresAt,
            consentId);
        if ((CheckLifetime(validated, now) ?? CheckRevoked(validated)) is { } lifetimeError)
        {
            return AccessTokenValidation.Refused(lifetimeError);
        }

        Remember(key, validated, now);
        return new AccessTokenValidation(validated, null);
    }

    /// <summary>RFC 6749 §4.1.2: a token revoked before its expiry (its code was replayed) is refused.</summary>
    private string? CheckRevoked(ValidatedAccessToken token) =>
        revoked.IsRevoked(token.TokenId) ? "The access token has been revoked." : null;

    /// <summary>
    /// RFC 9068 §4 / RFC 7519 §4.1.4-5: <c>exp</c> in the future, <c>nbf</c> (when present) not in the future, each
    /// within <see cref="ClockSkew"/>. Done here rather than by the handler so that the injected clock decides.
    /// </summary>
    private static string? CheckLifetime(ValidatedAccessToken token, DateTimeOffset now) =>
        now >= token.ExpiresAt + ClockSkew ? "The access token has expired."
        : token.NotBefore is { } notBefore && now < notBefore - ClockSkew ? "The access token is not valid yet."
        : null;

    private static bool TryGetString(JsonElement claims, string name, out string value)
    {
        value = claims.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.String ? element.GetString()! : string.Empty;
        return value.Length > 0;
    }

    /// <summary>RFC 7519 §2 NumericDate as this gateway writes it: whole seconds since the epoch.</summary>
    private static bool TryGetNumericDate(JsonElement claims, string name, out DateTimeOffset value)
    {
        value = default;
        if (!claims.TryGetProperty(name, out var element) || element.ValueKind != JsonValueKind.Number
            || !element.TryGetInt64(out var seconds) || seconds is < 0 or > 253_402_300_799)
        {
            return false;
        }

        value = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }

    private TokenValidationParameters Parameters() => Volatile.Read(ref parameters) ?? Interlocked.CompareExchange(ref parameters, Build(), null) ?? parameters!;

    /// <summary>Built on first use: the issuer may be derived from the bound address, known only once the server listens.</summary>
    private TokenValidationParameters Build() => new()
    {
        ValidIssuer = issuer.Identifier,
        ValidAudience = AccessTokenClaims.Audience,
        // RFC 9068 §4: the resource server checks typ, so an ID token or client assertion is never taken for an access token.
        ValidTypes = [AccessTokenClaims.TokenType, AccessTokenClaims.TokenTypeLong],
        // RFC 8725 §3.1: an explicit algorithm list; none and HS* cannot pass, nor can a token signed under any other key type.
        ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
        IssuerSigningKeys = keyRing.PublicSigningKeys().ToArray(),
        TryAllIssuerSigningKeys = false,
        RequireSignedTokens = true,
        ValidateIssuer = true,
        ValidateAudience = true,
        // Lifetime is checked afterwards against the injected TimeProvider (CheckLifetime): the handler reads the system clock.
        ValidateLifetime = false,
        RequireExpirationTime = false,
        ValidateIssuerSigningKey = false,
    };

    private void Remember(UInt128 key, ValidatedAccessToken token, DateTimeOffset now)
    {
        var due = Interlocked.Read(ref nextSweepTicks);
        if (now.UtcTicks >= due && Interlocked.CompareExchange(ref nextSweepTicks, now.UtcTicks + SweepInterval.Ticks, due) == due)
        {
            foreach (var (cachedKey, cached) in cache)
            {
                if (CheckLifetime(cached, now) is not null)
                {
                    cache.TryRemove(cachedKey, out _);
                }
            }
        }

        // Full of live tokens: validate the rest each time rather than grow without bound.
        if (cache.Count < CacheCapacity)
        {
            cache.TryAdd(key, token);
        }
    }

    /// <summary>128 bits of SHA-256: collisions need 2^64 work even when sought, and a forged token cannot aim at one.</summary>
    private static UInt128 Hash(string token)
    {
        Span<byte> utf8 = stackalloc byte[MaximumTokenLength * 3];
        var length = Encoding.UTF8.GetBytes(token, utf8);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..length], digest);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(digest);
    }

    /// <summary>Fixed phrases by failure kind: the response says what is wrong without echoing the token.</summary>
    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenInvalidIssuerException => "The access token was not issued by this gateway.",
        SecurityTokenInvalidAudienceException => "The access token is not for this API (aud).",
        SecurityTokenInvalidTypeException => "The token is not an access token (typ must be at+jwt).",
        SecurityTokenInvalidAlgorithmException => "The access token's algorithm is not accepted.",
        SecurityTokenSignatureKeyNotFoundException => "The access token's signature does not verify.",
        SecurityTokenInvalidSignatureException => "The access token's signature does not verify.",
        SecurityTokenMalformedException => "The access token is malformed.",
        _ => "The access token is not valid.",
    };
}
