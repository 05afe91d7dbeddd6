using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EligibilityGateway.Caching;

/// <summary>
/// Readiness of the answer cache: Healthy when usable, Degraded (still ready) while Redis is unreachable, because
/// the gateway keeps answering from providers (README.md, "Failure: fail open, recover alone"). Never Unhealthy.
/// </summary>
internal sealed class AnswerCacheHealthCheck(ICacheStore store) : IHealthCheck
{
    public const string Name = "answer-cache";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await store.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
}
