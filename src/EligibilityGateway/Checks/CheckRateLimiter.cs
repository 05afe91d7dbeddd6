using System.Threading.RateLimiting;
using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Checks;

/// <summary>
/// Per-council, per-scheme limits from the trust framework (the permission's rate limit, else the
/// council's). Fixed windows, no queueing: a council over its limit is told at once when to come back.
/// </summary>
internal sealed class CheckRateLimiter : IDisposable
{
    // The limit is part of the partition key, so a reloaded framework with a new limit starts a fresh window
    // instead of silently keeping the old one.
    private readonly PartitionedRateLimiter<Partition> _limiter = PartitionedRateLimiter.Create<Partition, Partition>(
        partition => RateLimitPartition.GetFixedWindowLimiter(partition, key => new FixedWindowRateLimiterOptions
        {
            PermitLimit = key.Limit.Limit,
            Window = key.Limit.Window,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));

    /// <summary>Takes one permit; when none is left, says how long until the window turns.</summary>
    public bool TryAcquire(string councilId, string schemeId, RateLimit limit, out TimeSpan retryAfter)
    {
        using var lease = _limiter.AttemptAcquire(new Partition(councilId, schemeId, limit));
        if (lease.IsAcquired)
        {
            retryAfter = TimeSpan.Zero;
            return true;
        }

        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : limit.Window;
        return false;
    }

    public void Dispose() => _limiter.Dispose();

    private readonly record struct Partition(string CouncilId, string SchemeId, RateLimit Limit);
}
