using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>
/// An authorization request pushed to <c>/connect/par</c> (RFC 9126 §2.1), checked and waiting for the citizen.
/// Holds no personal data: the consent is named by id and the citizen is not yet known.
/// </summary>
internal sealed record PendingAuthorization(
    string RequestUri,
    string ClientId,
    string CouncilId,
    Uri RedirectUri,
    ImmutableArray<string> Scopes,
    string? State,
    string CodeChallenge,
    string? Nonce,
    string ConsentId,
    DateTimeOffset ExpiresAt)
{
    public string Scope => string.Join(' ', Scopes);
}

/// <summary>What the citizen decided, ready to be sent to the council's redirect URI (RFC 6749 §4.1.2, RFC 9207).</summary>
/// <param name="Location">The council's redirect URI with <c>code</c> or <c>error</c>, <c>state</c> and <c>iss</c>.</param>
/// <param name="CitizenSubject">The page-session subject of the citizen who decided; only they may follow it.</param>
internal sealed record AuthorizationDecision(Uri Location, string CitizenSubject, DateTimeOffset ExpiresAt);

/// <summary>What became of a pushed request handed to <see cref="IPendingAuthorizationStore.TryAddAsync"/>.</summary>
internal enum PendingAuthorizationAdd
{
    /// <summary>Stored; its <c>request_uri</c> may be given to the client.</summary>
    Added,

    /// <summary>The store holds as many live requests as it may: the client should retry once some have lapsed.</summary>
    Full,

    /// <summary>The store could not be used (a shared store unreachable or too slow): the request was not stored.</summary>
    Unavailable,
}

/// <summary>
/// Pending authorization requests and decisions (RFC 9126 §4: a <c>request_uri</c> is used once). The in-memory
/// implementation serves one replica; several replicas register a shared one (Redis <c>SET NX</c> and <c>GETDEL</c>)
/// before <c>AddGatewayAuthorizationServer</c>. Asynchronous because a shared store waits on the network: a request
/// thread must never block on it (Authorization/README.md, <i>Several replicas</i>).
/// </summary>
internal interface IPendingAuthorizationStore
{
    /// <summary>Stores a pushed request; says why not when it is full or could not be used (the client is told to retry later).</summary>
    ValueTask<PendingAuthorizationAdd> TryAddAsync(PendingAuthorization pending, CancellationToken cancellationToken);

    /// <summary>The pending request, if it exists, is unexpired at <paramref name="now"/> and has not been decided. Only reads it.</summary>
    ValueTask<PendingAuthorization?> FindAsync(string requestUri, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Removes the request for good (RFC 9126 §4: single use); null when it is gone, expired or another request took it first.</summary>
    ValueTask<PendingAuthorization?> TryTakeAsync(string requestUri, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Records the citizen's decision on a taken request, for <see cref="TakeDecisionAsync"/>.</summary>
    ValueTask AddDecisionAsync(string requestUri, AuthorizationDecision decision, CancellationToken cancellationToken);

    /// <summary>Takes the decision once, for the redirect to the council.</summary>
    ValueTask<AuthorizationDecision?> TakeDecisionAsync(string requestUri, DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>Bounded, in-process <see cref="IPendingAuthorizationStore"/>; expired entries are swept on each write.</summary>
internal sealed class InMemoryPendingAuthorizationStore : IPendingAuthorizationStore
{
    /// <summary>Live pending requests and decisions held at most.</summary>
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, PendingAuthorization> pending = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AuthorizationDecision> decisions = new(StringComparer.Ordinal);
    private readonly TimeProvider timeProvider;

    public InMemoryPendingAuthorizationStore(TimeProvider timeProvider) => this.timeProvider = timeProvider;

    public ValueTask<PendingAuthorizationAdd> TryAddAsync(PendingAuthorization pending, CancellationToken cancellationToken)
    {
        Sweep(timeProvider.GetUtcNow());
        return ValueTask.FromResult(this.pending.Count + decisions.Count < Capacity && this.pending.TryAdd(pending.RequestUri, pending)
            ? PendingAuthorizationAdd.Added
            : PendingAuthorizationAdd.Full);
    }

    public ValueTask<PendingAuthorization?> FindAsync(string requestUri, DateTimeOffset now, CancellationToken cancellationToken) =>
        ValueTask.FromResult(pending.TryGetValue(requestUri, out var found) && found.ExpiresAt > now ? found : null);

    public ValueTask<PendingAuthorization?> TryTakeAsync(string requestUri, DateTimeOffset now, CancellationToken cancellationToken) =>
        ValueTask.FromResult(pending.TryRemove(requestUri, out var found) && found.ExpiresAt > now ? found : null);

    public ValueTask AddDecisionAsync(string requestUri, AuthorizationDecision decision, CancellationToken cancellationToken)
    {
        decisions[requestUri] = decision;
        return ValueTask.CompletedTask;
    }

    public ValueTask<AuthorizationDecision?> TakeDecisionAsync(string requestUri, DateTimeOffset now, CancellationToken cancellationToken) =>
        ValueTask.FromResult(decisions.TryRemove(requestUri, out var decision) && decision.ExpiresAt > now ? decision : null);

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, value) in pending)
        {
            if (value.ExpiresAt <= now)
            {
                pending.TryRemove(key, out _);
            }
        }

        foreach (var (key, value) in decisions)
        {
            if (value.ExpiresAt <= now)
            {
                decisions.TryRemove(key, out _);
            }
        }
    }
}

/// <summary>An authorization code and what it stands for (RFC 6749 §4.1.2), kept by the hash of the code.</summary>
/// <param name="Nonce">The <c>nonce</c> pushed with the request, returned in the ID token (OpenID Connect Core §3.1.3.6).</param>
internal sealed record AuthorizationCodeGrant(
    string ClientId,
    Uri RedirectUri,
    string CodeChallenge,
    ImmutableArray<string> Scopes,
    string ConsentId,
    string Subject,
    DateTimeOffset ExpiresAt,
    string? Nonce = null);

/// <summary>The outcome of redeeming a code.</summary>
internal abstract record CodeRedemption
{
    private CodeRedemption()
    {
    }

    public sealed record Redeemed(AuthorizationCodeGrant Grant) : CodeRedemption;

    /// <summary>Unknown, expired, or already redeemed; on a replay, the ids of the token families the code started.</summary>
    public sealed record Refused(ImmutableArray<string> IssuedFamilyIds) : CodeRedemption;
}

/// <summary>
/// Authorization codes (RFC 6749 §4.1.2): single use, at most <see cref="AuthorizationCodeStore.Lifetime"/>, and a
/// replay returns the token families the code started. <see cref="AuthorizationCodeStore"/> serves one replica;
/// <see cref="RedisAuthorizationCodeStore"/> every replica sharing Redis.
/// </summary>
internal interface IAuthorizationCodeStore
{
    /// <summary>A new code for the grant, or null when the store is full or unavailable.</summary>
    ValueTask<string?> IssueAsync(Func<DateTimeOffset, AuthorizationCodeGrant> grant, CancellationToken cancellationToken);

    /// <summary>Marks the code redeemed, once; a second call (on any replica) is a replay.</summary>
    ValueTask<CodeRedemption> RedeemAsync(string code, CancellationToken cancellationToken);

    /// <summary>Remembers the token family the code started, so that a replay can revoke it.</summary>
    ValueTask RecordIssuedAsync(string code, string familyId, CancellationToken cancellationToken);
}

/// <summary>
/// Authorization codes (RFC 6749 §4.1.2): 256 random bits, single use, at most <see cref="Lifetime"/>; only a
/// SHA-256 of the code is kept. A redeemed code is remembered for ten minutes after it would have expired, with the
/// token family it started (the access token and the refresh tokens rotated from it), so that a replay can revoke them (RFC 6749 §4.1.2: "SHOULD revoke … all tokens previously
/// issued based on that authorization code").
/// </summary>
internal sealed class AuthorizationCodeStore(TimeProvider timeProvider) : IAuthorizationCodeStore
{
    /// <summary>RFC 6749 §4.1.2 recommends at most ten minutes; ours live 60 seconds (README.md).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    /// <summary>A code is remembered this long after it expires, as long as the tokens it issued can live, so that its replay still revokes them.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromMinutes(10);

    /// <summary>Live codes held at most; a full store refuses new codes rather than forget live ones.</summary>
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, Entry> codes = new(StringComparer.Ordinal);

    /// <summary>A new code for the grant, or null when the store is full.</summary>
    public ValueTask<string?> IssueAsync(Func<DateTimeOffset, AuthorizationCodeGrant> grant, CancellationToken cancellationToken) => ValueTask.FromResult(Issue(grant));

    /// <summary>Marks the code redeemed, once; a second call is a replay.</summary>
    public ValueTask<CodeRedemption> RedeemAsync(string code, CancellationToken cancellationToken) => ValueTask.FromResult(Redeem(code));

    /// <summary>Remembers the token family the code started, so that a replay can revoke it.</summary>
    public ValueTask RecordIssuedAsync(string code, string familyId, CancellationToken cancellationToken)
    {
        RecordIssued(code, familyId);
        return ValueTask.CompletedTask;
    }

    private string? Issue(Func<DateTimeOffset, AuthorizationCodeGrant> grant)
    {
        var now = timeProvider.GetUtcNow();
        Sweep(now);
        if (codes.Count >= Capacity)
        {
            return null;
        }

        var code = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        codes[Hash(code)] = new Entry(grant(now + Lifetime));
        return code;
    }

    private CodeRedemption Redeem(string code)
    {
        var now = timeProvider.GetUtcNow();
        if (!codes.TryGetValue(Hash(code), out var entry))
        {
            return new CodeRedemption.Refused([]);
        }

        lock (entry)
        {
            if (entry.Redeemed)
            {
                return new CodeRedemption.Refused([.. entry.TokenIds]);
            }

            if (entry.Grant.ExpiresAt <= now)
            {
                return new CodeRedemption.Refused([]);
            }

            entry.Redeemed = true;
            return new CodeRedemption.Redeemed(entry.Grant);
        }
    }

    private void RecordIssued(string code, string familyId)
    {
        if (codes.TryGetValue(Hash(code), out var entry))
        {
            lock (entry)
            {
                entry.TokenIds.Add(familyId);
            }
        }
    }

    private static string Hash(string code) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(code)));

    private void Sweep(DateTimeOffset now)
    {
        foreach (var (key, entry) in codes)
        {
            // A redeemed code is kept as long as the tokens it issued can live, so that its replay still revokes them.
            if (entry.Grant.ExpiresAt + Retention <= now)
            {
                codes.TryRemove(key, out _);
            }
        }
    }

    private sealed class Entry(AuthorizationCodeGrant grant)
    {
        public AuthorizationCodeGrant Grant { get; } = grant;

        public bool Redeemed { get; set; }

        public List<string> TokenIds { get; } = [];
    }
}

/// <summary>
/// Access tokens revoked before their expiry, by <c>jti</c>: revoked themselves (the Bearer validator refuses them,
/// cached validation or not) or through their consent (introspection and userinfo call them inactive). Entries lapse after the longest
/// access-token lifetime (10 minutes), when every token they could name has expired anyway.
/// </summary>
internal sealed class RevokedAccessTokens(TimeProvider timeProvider)
{
    private static readonly TimeSpan Keep = TimeSpan.FromMinutes(11);

    private readonly ConcurrentDictionary<string, Entry> tokenIds = new(StringComparer.Ordinal);

    /// <summary>
    /// Told of every revocation made on this replica, to tell the others (<see cref="AccessTokenRevocationChannel"/>);
    /// arguments: the <c>jti</c> and whether only its consent was revoked.
    /// </summary>
    public Action<string, bool>? Revoked { get; set; }

    public void Revoke(string tokenId)
    {
        Apply(tokenId, consentOnly: false);
        Revoked?.Invoke(tokenId, false);
    }

    /// <summary>Records a revocation made on this or another replica, without telling anyone.</summary>
    public void Apply(string tokenId, bool consentOnly)
    {
        Sweep();
        var entry = new Entry(timeProvider.GetUtcNow() + Keep, consentOnly);
        if (consentOnly)
        {
            // Never weaken a token's own revocation into a consent-only one.
            tokenIds.TryAdd(tokenId, entry);
        }
        else
        {
            tokenIds[tokenId] = entry;
        }
    }

    private void Sweep()
    {
        var now = timeProvider.GetUtcNow();
        foreach (var (key, entry) in tokenIds)
        {
            if (entry.Until <= now)
            {
                tokenIds.TryRemove(key, out _);
            }
        }
    }

    private readonly record struct Entry(DateTimeOffset Until, bool ConsentOnly);

    /// <summary>True when the token itself was revoked (RFC 7009, a replayed code): the Bearer scheme refuses it.</summary>
    public bool IsRevoked(string tokenId) => tokenIds.TryGetValue(tokenId, out var entry) && !entry.ConsentOnly;

    /// <summary>True when the token or its consent was revoked: introspection and userinfo call it inactive.</summary>
    public bool IsInactive(string tokenId) => tokenIds.ContainsKey(tokenId);

    /// <summary>
    /// Marks a token whose consent was revoked (README.md). The Bearer scheme still accepts it so that a check under it
    /// answers 409 with the consent's state; introspection and userinfo call it inactive.
    /// </summary>
    public void RevokeForConsent(string tokenId)
    {
        Apply(tokenId, consentOnly: true);
        Revoked?.Invoke(tokenId, true);
    }
}
