using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace EligibilityGateway.Audit;

/// <summary>
/// Ready only while the audit store can commit (README.md, "Readiness"), because without it
/// every check answers 503. Probes on a connection of its own, so a store that has gone away is seen even when no
/// check has failed yet, and a store that has come back is seen before the next check.
/// </summary>
internal sealed class AuditStoreHealthCheck(AuditLog log) : IHealthCheck
{
    public const string Name = "audit-store";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["store"] = log.Store.Kind,
            ["recordsCommitted"] = log.RecordsCommitted,
            ["transactionsCommitted"] = log.TransactionsCommitted,
            ["transactionsFailed"] = log.TransactionsFailed,
        };
        if (!log.IsRunning)
        {
            return HealthCheckResult.Unhealthy("The audit writer is not running.", data: data);
        }

        try
        {
            data["lastSequence"] = await log.ProbeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AuditUnavailableException ex)
        {
            return HealthCheckResult.Unhealthy("The audit store cannot commit.", ex, data);
        }

        return log.LastFailure is null
            ? HealthCheckResult.Healthy("The audit store commits.", data)
            : HealthCheckResult.Healthy("The audit store commits again; the last batch before this probe failed.", data);
    }
}
