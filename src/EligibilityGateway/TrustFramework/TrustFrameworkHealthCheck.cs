using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EligibilityGateway.TrustFramework;

/// <summary>Ready only with a framework in force (README.md), and says which one.</summary>
internal sealed class TrustFrameworkHealthCheck(TrustFrameworkMonitor monitor) : IHealthCheck
{
    public const string Name = "trust-framework";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!monitor.TryGetCurrent(out var snapshot))
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("No trust framework is loaded."));
        }

        var definition = snapshot.Definition;
        return Task.FromResult(HealthCheckResult.Healthy(
            $"Trust framework {definition.Id} version {definition.Version} is loaded.",
            new Dictionary<string, object>
            {
                ["id"] = definition.Id,
                ["version"] = definition.Version,
                ["sha256"] = snapshot.Sha256,
                ["sandbox"] = definition.Sandbox,
            }));
    }
}
