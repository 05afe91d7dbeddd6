using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EligibilityGateway.Caching;

/// <summary>
/// Where sealed answers live: Redis when <c>Cache:Redis</c> is set, process memory otherwise. Stores hold opaque
/// keys and encrypted bytes only; they never throw because the backing service is unwell (they fail open).
/// </summary>
internal interface ICacheStore
{
    /// <summary>Short name for metrics and health data: <c>redis</c> or <c>memory</c>.</summary>
    string Name { get; }

    /// <summary>Reads the bytes stored under <paramref name="key"/>.</summary>
    ValueTask<StoreRead> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Stores <paramref name="value"/> for <paramref name="ttl"/>; false when the store was unavailable and the write was skipped.</summary>
    ValueTask<bool> SetAsync(string key, byte[] value, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>
    /// Removes whatever is stored under <paramref name="key"/> (a consent's answer, on revocation); true when
    /// the store was asked (whether or not anything was there), false when it was unavailable and nothing was removed.
    /// </summary>
    ValueTask<bool> DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>Healthy when usable, Degraded when unavailable: the gateway still answers, from providers.</summary>
    ValueTask<HealthCheckResult> CheckHealthAsync(CancellationToken cancellationToken);
}

/// <summary>How a store read went.</summary>
internal enum StoreReadStatus
{
    /// <summary>Nothing is stored under the key (never written, expired or evicted).</summary>
    Absent,

    /// <summary>Bytes were found.</summary>
    Found,

    /// <summary>The store could not be asked (down, slow, or in its back-off window).</summary>
    Unavailable,
}

/// <summary>The result of <see cref="ICacheStore.GetAsync"/>; <see cref="Value"/> is set only when found.</summary>
internal readonly record struct StoreRead(StoreReadStatus Status, byte[]? Value)
{
    public static StoreRead Absent => new(StoreReadStatus.Absent, null);

    public static StoreRead Unavailable => new(StoreReadStatus.Unavailable, null);

    public static StoreRead Found(byte[] value) => new(StoreReadStatus.Found, value);
}
