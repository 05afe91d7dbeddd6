using System.Collections.Concurrent;

namespace EligibilityGateway.Authorization;

/// <summary>
/// The citizen's answer on the consent page, kept for the one redirect that takes it to the council
/// (<c>/connect/authorize/continue</c>; README.md, "Redirect after the form post").
/// </summary>
internal sealed record AuthorizationDecision(Uri Location, string CitizenSubject, DateTimeOffset ExpiresAt);

/// <summary>
/// Decisions waiting for the browser to follow the 303, keyed by the request URI they answer. In memory by default;
/// in Redis with <c>Cache:Redis</c>, so the GET may land on another replica than the POST.
/// </summary>
internal interface IAuthorizationDecisionStore
{
    /// <summary>Records the decision on a request, for <see cref="TakeDecisionAsync"/>.</summary>
    ValueTask AddDecisionAsync(string requestUri, AuthorizationDecision decision, CancellationToken cancellationToken);

    /// <summary>Takes the decision once, for the redirect to the council.</summary>
    ValueTask<AuthorizationDecision?> TakeDecisionAsync(string requestUri, DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>Bounded, in-process <see cref="IAuthorizationDecisionStore"/>; expired entries are swept on each write.</summary>
internal sealed class InMemoryAuthorizationDecisionStore(TimeProvider timeProvider) : IAuthorizationDecisionStore
{
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, AuthorizationDecision> decisions = new(StringComparer.Ordinal);

    public ValueTask AddDecisionAsync(string requestUri, AuthorizationDecision decision, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        foreach (var (key, value) in decisions)
        {
            if (value.ExpiresAt <= now)
            {
                decisions.TryRemove(key, out _);
            }
        }

        // Full of live decisions, the oldest browser simply finds nothing to continue; the decision itself is made.
        if (decisions.Count < Capacity)
        {
            decisions[requestUri] = decision;
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask<AuthorizationDecision?> TakeDecisionAsync(string requestUri, DateTimeOffset now, CancellationToken cancellationToken) =>
        ValueTask.FromResult(decisions.TryRemove(requestUri, out var decision) && decision.ExpiresAt > now ? decision : null);
}

/// <summary>
/// Client-credentials access tokens revoked before their expiry (RFC 7009), by <c>jti</c>: they have no row in the token
/// store, so the revocation is remembered here, told to every replica (<see cref="AccessTokenRevocationChannel"/>),
/// and refused by the Bearer scheme and introspection. Entries lapse after the longest access-token lifetime
/// (10 minutes), when every token they could name has expired anyway.
/// </summary>
internal sealed class RevokedAccessTokens(TimeProvider timeProvider)
{
    private static readonly TimeSpan Keep = TimeSpan.FromMinutes(11);

    private readonly ConcurrentDictionary<string, DateTimeOffset> tokenIds = new(StringComparer.Ordinal);

    /// <summary>Told of every revocation made on this replica, to tell the others (<see cref="AccessTokenRevocationChannel"/>).</summary>
    public Action<string>? Revoked { get; set; }

    public void Revoke(string tokenId)
    {
        Apply(tokenId);
        Revoked?.Invoke(tokenId);
    }

    /// <summary>Records a revocation made on this or another replica, without telling anyone.</summary>
    public void Apply(string tokenId)
    {
        Sweep();
        tokenIds[tokenId] = timeProvider.GetUtcNow() + Keep;
    }

    private void Sweep()
    {
        var now = timeProvider.GetUtcNow();
        foreach (var (key, entry) in tokenIds)
        {
            if (entry <= now)
            {
                tokenIds.TryRemove(key, out _);
            }
        }
    }

    /// <summary>True when the token was revoked: the Bearer scheme refuses it and introspection calls it inactive.</summary>
    public bool IsRevoked(string tokenId) => tokenIds.ContainsKey(tokenId);
}
