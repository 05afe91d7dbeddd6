namespace EligibilityGateway.Caching;

/// <summary>
/// The answer cache: seals answers with <see cref="AnswerProtector"/> and keeps them in the configured
/// <see cref="ICacheStore"/>. A value that does not open is a miss, counted and logged at debug level, never an
/// exception; so is an unavailable store.
/// </summary>
internal sealed class AnswerCache(ICacheStore store, AnswerProtector protector, CacheMetrics metrics, TimeProvider timeProvider, ILogger<AnswerCache> logger) : IAnswerCache
{
    // Below this nothing is worth a round trip, and Redis refuses an expiry of zero.
    private static readonly TimeSpan ShortestTtl = TimeSpan.FromMilliseconds(1);

    public async ValueTask<CachedAnswer?> GetAsync(CacheKey key, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key.Value, nameof(key));
        var read = await store.GetAsync(key.Value, cancellationToken).ConfigureAwait(false);
        switch (read.Status)
        {
            case StoreReadStatus.Found when protector.TryUnprotect(key, read.Value, out var answer):
                metrics.Lookup(store.Name, "hit");
                return answer;
            case StoreReadStatus.Found:
                metrics.Lookup(store.Name, "unreadable");
                Log.UnreadableValue(logger);
                return null;
            case StoreReadStatus.Unavailable:
                metrics.Lookup(store.Name, "unavailable");
                return null;
            default:
                metrics.Lookup(store.Name, "miss");
                return null;
        }
    }

    public async ValueTask SetAsync(CacheKey key, CachedAnswer answer, TimeSpan ttl, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key.Value, nameof(key));
        ArgumentNullException.ThrowIfNull(answer);

        // Never beyond what the caller allows (min of scheme TTL and consent expiry), nor past the answer's validity.
        var remaining = answer.ValidUntil - timeProvider.GetUtcNow();
        var effective = remaining < ttl ? remaining : ttl;
        if (effective < ShortestTtl)
        {
            metrics.Write(store.Name, "skipped");
            return;
        }

        var stored = await store.SetAsync(key.Value, protector.Protect(key, answer), effective, cancellationToken).ConfigureAwait(false);
        metrics.Write(store.Name, stored ? "stored" : "skipped");
    }
}
