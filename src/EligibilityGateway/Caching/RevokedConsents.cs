using System.Collections.Concurrent;

namespace EligibilityGateway.Caching;

/// <summary>
/// The consents this replica knows to be revoked, whether revoked here or announced by another replica over Redis
/// (<see cref="RedisRevocationChannel"/>): the in-process side of the revocation cascade (README.md). Checks
/// read a consent's state from the shared consent store on every request, so this set is never the only thing that
/// refuses a revoked consent; it is what in-process state (and its tests) consults to learn of a revocation on
/// another replica within a second, without a store read. Holds consent ids and council ids only.
/// </summary>
internal sealed class RevokedConsents(TimeProvider timeProvider)
{
    /// <summary>How long an entry is kept: longer than any in-process state under a consent can live.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromHours(24);

    // Bounded so that a flood of announcements cannot grow memory without limit; the oldest go first.
    private const int Capacity = 100_000;

    private readonly ConcurrentDictionary<string, Revocation> revoked = new(StringComparer.Ordinal);

    /// <summary>Raised after a consent is recorded as revoked for the first time here.</summary>
    public event Action<Revocation>? Recorded;

    /// <summary>Records a revocation; false when it was already known.</summary>
    public bool Record(string consentId, string councilId, bool announcedByAnotherReplica)
    {
        ArgumentException.ThrowIfNullOrEmpty(consentId);
        ArgumentException.ThrowIfNullOrEmpty(councilId);
        var entry = new Revocation(consentId, councilId, timeProvider.GetUtcNow(), announcedByAnotherReplica);
        if (!revoked.TryAdd(consentId, entry))
        {
            return false;
        }

        Prune(entry.LearntAt);
        Recorded?.Invoke(entry);
        return true;
    }

    /// <summary>True when this replica has learnt, here or from another replica, that the consent is revoked.</summary>
    public bool IsRevoked(string consentId) => revoked.ContainsKey(consentId);

    /// <summary>The revocation as learnt, or null.</summary>
    public Revocation? Find(string consentId) => revoked.TryGetValue(consentId, out var entry) ? entry : null;

    private void Prune(DateTimeOffset now)
    {
        if (revoked.Count <= Capacity && revoked.Values.All(r => now - r.LearntAt < Retention))
        {
            return;
        }

        foreach (var stale in revoked.Values.Where(r => now - r.LearntAt >= Retention).ToList())
        {
            revoked.TryRemove(stale.ConsentId, out _);
        }

        foreach (var oldest in revoked.Values.OrderBy(r => r.LearntAt).Take(Math.Max(0, revoked.Count - Capacity)).ToList())
        {
            revoked.TryRemove(oldest.ConsentId, out _);
        }
    }

    /// <param name="AnnouncedByAnotherReplica">Learnt over Redis rather than revoked on this replica.</param>
    internal sealed record Revocation(string ConsentId, string CouncilId, DateTimeOffset LearntAt, bool AnnouncedByAnotherReplica);
}
