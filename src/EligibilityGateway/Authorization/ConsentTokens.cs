using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.Consents;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>A refresh token as stored: by the SHA-256 of the token, never the token itself.</summary>
/// <param name="FamilyId">Every refresh token rotated from one authorization code shares it (RFC 9700 §4.14.2).</param>
/// <param name="RotatedAt">When it was exchanged for a successor; null while it is the newest of its family.</param>
/// <param name="GraceUsed">True once it has been used again within the grace period after its rotation.</param>
internal sealed record RefreshTokenRecord(
    string ClientId,
    string ConsentId,
    string Subject,
    ImmutableArray<string> Scopes,
    string FamilyId,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    DateTimeOffset? RotatedAt = null,
    bool GraceUsed = false,
    bool Revoked = false);

/// <summary>The outcome of presenting a refresh token.</summary>
internal abstract record RefreshUse
{
    private RefreshUse()
    {
    }

    /// <summary>The token was good; it is now rotated, and <see cref="Record"/> is what a successor inherits.</summary>
    public sealed record Rotated(RefreshTokenRecord Record) : RefreshUse;

    /// <summary>Unknown, expired, revoked, another client's, or used again after its grace: refused.</summary>
    public sealed record Refused(string Description) : RefreshUse;
}

/// <summary>
/// The tokens issued under consents: refresh tokens (opaque, 256 random bits, kept as SHA-256) and the ids of the
/// access tokens of each consent and each refresh family, so that revoking a consent (README.md), a refresh token
/// (RFC 7009 §2.1) or a replayed code revokes what they issued. In memory for one replica; entries lapse with the
/// consent's expiry. Several replicas need a shared store in its place (the same records in Redis or the database).
/// </summary>
internal sealed class ConsentTokenRegistry(RevokedAccessTokens revokedAccessTokens, TimeProvider timeProvider) : IConsentRevocationObserver
{
    /// <summary>
    /// After rotation the previous refresh token stays usable once for this long, so that a council whose response
    /// was lost (a timeout, a crash before storing it) can retry with the token it still holds. A second use, or a
    /// use after the grace, is treated as theft: the whole family is revoked (RFC 9700 §4.14.2).
    /// </summary>
    public static readonly TimeSpan RotationGrace = TimeSpan.FromSeconds(60);

    /// <summary>Live refresh tokens held at most.</summary>
    public const int Capacity = 100_000;

    private readonly ConcurrentDictionary<string, RefreshTokenRecord> refreshTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, DateTimeOffset>> accessByConsent = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, DateTimeOffset>> accessByFamily = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    /// <summary>Creates a refresh token; null when the registry is full (the token response then carries none).</summary>
    public string? IssueRefreshToken(RefreshTokenRecord record)
    {
        Sweep();
        if (refreshTokens.Count >= Capacity)
        {
            return null;
        }

        var token = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        refreshTokens[Hash(token)] = record;
        return token;
    }

    /// <summary>Remembers an access token issued under a consent (and a refresh family), for the cascades.</summary>
    public void TrackAccessToken(string consentId, string familyId, string tokenId, DateTimeOffset expiresAt)
    {
        accessByConsent.GetOrAdd(consentId, _ => new(StringComparer.Ordinal))[tokenId] = expiresAt;
        accessByFamily.GetOrAdd(familyId, _ => new(StringComparer.Ordinal))[tokenId] = expiresAt;
    }

    /// <summary>RFC 6749 §6: uses a refresh token of <paramref name="clientId"/>, rotating it.</summary>
    public RefreshUse Use(string token, string clientId)
    {
        var now = timeProvider.GetUtcNow();
        var key = Hash(token);
        lock (gate)
        {
            if (!refreshTokens.TryGetValue(key, out var record) || !string.Equals(record.ClientId, clientId, StringComparison.Ordinal))
            {
                return new RefreshUse.Refused("The refresh token is unknown or was issued to another client.");
            }

            if (record.Revoked || record.ExpiresAt <= now)
            {
                return new RefreshUse.Refused("The refresh token is revoked or expired.");
            }

            if (record.RotatedAt is null)
            {
                refreshTokens[key] = record with { RotatedAt = now };
                return new RefreshUse.Rotated(record);
            }

            if (!record.GraceUsed && now - record.RotatedAt.Value <= RotationGrace)
            {
                // The council did not get the successor: this token serves once more, and the unseen successor goes.
                refreshTokens[key] = record with { GraceUsed = true };
                RevokeSuccessors(record.FamilyId, exceptKey: key, now);
                return new RefreshUse.Rotated(record);
            }
        }

        RevokeFamily(key);
        return new RefreshUse.Refused("The refresh token was already used; its family is revoked (RFC 9700 section 4.14.2).");
    }

    /// <summary>The record of a token <see cref="Use"/> has just accepted.</summary>
    public RefreshTokenRecord FindRecordAfterUse(string token) => refreshTokens[Hash(token)];

    /// <summary>The refresh token's record if it is this client's and usable now; null otherwise.</summary>
    public RefreshTokenRecord? FindActiveRefreshToken(string token, string clientId)
    {
        var now = timeProvider.GetUtcNow();
        return refreshTokens.TryGetValue(Hash(token), out var record) && string.Equals(record.ClientId, clientId, StringComparison.Ordinal)
            && !record.Revoked && record.ExpiresAt > now && (record.RotatedAt is null || (!record.GraceUsed && now - record.RotatedAt.Value <= RotationGrace))
            ? record
            : null;
    }

    /// <summary>
    /// RFC 7009 §2.1: revokes a refresh token of <paramref name="clientId"/> with its family and the access tokens
    /// the family issued; false when it is not one (it may be an access token). The consent stays as it is.
    /// </summary>
    public bool TryRevokeRefreshToken(string token, string clientId)
    {
        var key = Hash(token);
        if (!refreshTokens.TryGetValue(key, out var record) || !string.Equals(record.ClientId, clientId, StringComparison.Ordinal))
        {
            return false;
        }

        RevokeFamily(key);
        return true;
    }

    /// <summary>
    /// The revocation cascade: a revoked consent's refresh tokens are revoked, and its access tokens marked revoked for
    /// introspection and userinfo. The API still takes them as far as the check, which answers 409 (the council learns
    /// that the consent was withdrawn, not merely that a token failed).
    /// </summary>
    public ValueTask OnConsentRevokedAsync(ConsentRevoked revoked, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            foreach (var (key, record) in refreshTokens)
            {
                if (string.Equals(record.ConsentId, revoked.ConsentId, StringComparison.Ordinal))
                {
                    refreshTokens[key] = record with { Revoked = true };
                }
            }
        }

        if (accessByConsent.TryGetValue(revoked.ConsentId, out var tokenIds))
        {
            foreach (var tokenId in tokenIds.Keys)
            {
                revokedAccessTokens.RevokeForConsent(tokenId);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Told of every family revoked by a replayed code on this replica, to tell the others
    /// (<see cref="AccessTokenRevocationChannel"/>): the family may have been issued by another replica.
    /// </summary>
    public Action<string>? FamilyRevoked { get; set; }

    /// <summary>RFC 6749 §4.1.2: a replayed code revokes the refresh family it started, and its access tokens, on every replica.</summary>
    public void RevokeFamilyById(string familyId)
    {
        ApplyFamilyRevocation(familyId);
        FamilyRevoked?.Invoke(familyId);
    }

    /// <summary>Revokes the family's refresh and access tokens known to this replica, without telling anyone.</summary>
    public void ApplyFamilyRevocation(string familyId)
    {
        lock (gate)
        {
            foreach (var (key, record) in refreshTokens)
            {
                if (string.Equals(record.FamilyId, familyId, StringComparison.Ordinal))
                {
                    refreshTokens[key] = record with { Revoked = true };
                }
            }
        }

        if (accessByFamily.TryGetValue(familyId, out var tokenIds))
        {
            foreach (var tokenId in tokenIds.Keys)
            {
                revokedAccessTokens.Revoke(tokenId);
            }
        }
    }

    private void RevokeFamily(string key)
    {
        string familyId;
        lock (gate)
        {
            if (!refreshTokens.TryGetValue(key, out var record))
            {
                return;
            }

            familyId = record.FamilyId;
            foreach (var (otherKey, other) in refreshTokens)
            {
                if (string.Equals(other.FamilyId, familyId, StringComparison.Ordinal))
                {
                    refreshTokens[otherKey] = other with { Revoked = true };
                }
            }
        }

        if (accessByFamily.TryGetValue(familyId, out var tokenIds))
        {
            foreach (var tokenId in tokenIds.Keys)
            {
                revokedAccessTokens.Revoke(tokenId);
            }
        }
    }

    /// <summary>Revokes the members of a family issued after the one at <paramref name="exceptKey"/> (called under the gate).</summary>
    private void RevokeSuccessors(string familyId, string exceptKey, DateTimeOffset now)
    {
        var issuedAt = refreshTokens[exceptKey].IssuedAt;
        foreach (var (otherKey, other) in refreshTokens)
        {
            if (otherKey != exceptKey && string.Equals(other.FamilyId, familyId, StringComparison.Ordinal) && other.IssuedAt >= issuedAt && other.RotatedAt is null)
            {
                refreshTokens[otherKey] = other with { Revoked = true, RotatedAt = now };
            }
        }
    }

    private void Sweep()
    {
        var now = timeProvider.GetUtcNow();
        foreach (var (key, record) in refreshTokens)
        {
            if (record.ExpiresAt <= now)
            {
                refreshTokens.TryRemove(key, out _);
            }
        }

        foreach (var map in new[] { accessByConsent, accessByFamily })
        {
            foreach (var (owner, tokenIds) in map)
            {
                foreach (var (tokenId, expiresAt) in tokenIds)
                {
                    if (expiresAt + GatewayBearer.ClockSkew <= now)
                    {
                        tokenIds.TryRemove(tokenId, out _);
                    }
                }

                if (tokenIds.IsEmpty)
                {
                    map.TryRemove(owner, out _);
                }
            }
        }
    }

    private static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
