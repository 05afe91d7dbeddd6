using System.Collections.Concurrent;

namespace EligibilityGateway.Authorization;

/// <summary>What the replay cache says about a client assertion's <c>jti</c>.</summary>
internal enum ReplayCheck
{
    /// <summary>Not seen before; now recorded until its expiry.</summary>
    FirstUse,

    /// <summary>Already used: the assertion is a replay.</summary>
    Replayed,

    /// <summary>The cache cannot record it (full, or its store is down); the assertion must be refused.</summary>
    Unavailable,
}

/// <summary>
/// The set of client-assertion ids already used (RFC 7523 §3 item 7, OIDC Core §9: a <c>jti</c> is single use).
/// In memory by default; with several replicas, register a shared implementation (for example Redis <c>SET NX PX</c>)
/// before <c>AddGatewayAuthorizationServer</c>, which adds the in-memory one only when none is registered.
/// </summary>
internal interface IClientAssertionReplayCache
{
    /// <summary>Atomically records (client, jti) until <paramref name="keepUntil"/>, unless it is already there.</summary>
    ValueTask<ReplayCheck> TryRecordAsync(string clientId, string tokenId, DateTimeOffset keepUntil, CancellationToken cancellationToken);
}

/// <summary>
/// One process's memory of used assertion ids, bounded. Entries last until the assertion could no longer be
/// accepted (its <c>exp</c> plus clock skew) and are swept every <see cref="SweepInterval"/>. When full of live
/// entries it answers <see cref="ReplayCheck.Unavailable"/>: refusing a valid assertion is safe, forgetting a used
/// one is not.
/// </summary>
internal sealed class InMemoryClientAssertionReplayCache(TimeProvider timeProvider, ILogger<InMemoryClientAssertionReplayCache> logger) : IClientAssertionReplayCache
{
    /// <summary>At most 5 minutes of assertions are live; 100 000 is over 300 a second for that whole window.</summary>
    public const int Capacity = 100_000;

    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<(string ClientId, string TokenId), DateTimeOffset> used = new();
    private long nextSweepTicks;

    public ValueTask<ReplayCheck> TryRecordAsync(string clientId, string tokenId, DateTimeOffset keepUntil, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        SweepIfDue(now, force: used.Count >= Capacity);
        if (used.Count >= Capacity)
        {
            Log.ReplayCacheFull(logger, Capacity);
            return ValueTask.FromResult(ReplayCheck.Unavailable);
        }

        var key = (clientId, tokenId);
        if (used.TryAdd(key, keepUntil))
        {
            return ValueTask.FromResult(ReplayCheck.FirstUse);
        }

        // Present: a replay, unless the earlier entry has lapsed and this is a new assertion reusing the id.
        return ValueTask.FromResult(
            used.TryGetValue(key, out var previous) && previous <= now && used.TryUpdate(key, keepUntil, previous)
                ? ReplayCheck.FirstUse
                : ReplayCheck.Replayed);
    }

    private void SweepIfDue(DateTimeOffset now, bool force)
    {
        // A full cache sweeps at most once a second, so a flood of fresh assertions cannot make every request O(n).
        var due = Interlocked.Read(ref nextSweepTicks);
        var earliest = force ? due - SweepInterval.Ticks + TimeSpan.TicksPerSecond : due;
        if (now.UtcTicks < earliest || Interlocked.CompareExchange(ref nextSweepTicks, now.UtcTicks + SweepInterval.Ticks, due) != due)
        {
            return;
        }

        foreach (var (key, keepUntil) in used)
        {
            if (keepUntil <= now)
            {
                used.TryRemove(new KeyValuePair<(string, string), DateTimeOffset>(key, keepUntil));
            }
        }
    }
}
