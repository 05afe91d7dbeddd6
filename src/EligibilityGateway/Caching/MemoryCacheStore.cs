using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Internal;

namespace EligibilityGateway.Caching;

/// <summary>
/// The in-process store, used when no Redis is configured (the sandbox, a single replica). Bounded by
/// <see cref="CacheOptions.MemorySizeLimitBytes"/>: at the limit a write is dropped and a compaction evicts the
/// least recently used 10 %. Expiry follows the injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class MemoryCacheStore : ICacheStore, IDisposable
{
    // Estimated bytes an entry costs besides its value: the key string, the entry object and the index slot.
    private const int EntryOverheadBytes = 200;

    private readonly MemoryCache cache;

    public MemoryCacheStore(CacheOptions options, TimeProvider timeProvider)
    {
        cache = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = options.MemorySizeLimitBytes,
            CompactionPercentage = 0.10,
            Clock = new TimeProviderClock(timeProvider),
        });
    }

    public string Name => "memory";

    public ValueTask<StoreRead> GetAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(cache.TryGetValue(key, out byte[]? value) && value is not null ? StoreRead.Found(value) : StoreRead.Absent);
    }

    public ValueTask<bool> SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        cache.Set(key, value, new MemoryCacheEntryOptions
        {
            AbsoluteExpirationRelativeToNow = ttl,
            Size = value.Length + (key.Length * sizeof(char)) + EntryOverheadBytes,
        });
        return ValueTask.FromResult(true);
    }

    public ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        cache.Remove(key);
        return ValueTask.FromResult(true);
    }

    public ValueTask<HealthCheckResult> CheckHealthAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(HealthCheckResult.Healthy("Answers are cached in process memory.", new Dictionary<string, object> { ["store"] = Name }));

    public void Dispose() => cache.Dispose();

    // MemoryCache reads time through ISystemClock; this lets tests move it with a fake TimeProvider.
    private sealed class TimeProviderClock(TimeProvider timeProvider) : ISystemClock
    {
        public DateTimeOffset UtcNow => timeProvider.GetUtcNow();
    }
}
