using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Audit;

/// <summary>
/// Runs <see cref="AuditPurger"/> under the framework in force once at start and then every
/// <see cref="AuditRetentionOptions.Interval"/>, unless <see cref="AuditRetentionOptions.Enabled"/> is off. A failed
/// run is logged and tried again at the next interval; it never stops the gateway.
/// </summary>
internal sealed class AuditRetentionService(
    AuditPurger purger, TrustFrameworkMonitor frameworks, IOptions<AuditOptions> options, TimeProvider timeProvider, ILogger<AuditRetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.Retention;
        if (!settings.Enabled)
        {
            return;
        }

        try
        {
            // Off the start-up path: the host has already opened the log and loaded the framework.
            await Task.Yield();
            using var timer = new PeriodicTimer(settings.Interval, timeProvider);
            do
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task RunOnceAsync(CancellationToken stoppingToken)
    {
        if (!frameworks.TryGetCurrent(out var snapshot))
        {
            return;
        }

        try
        {
            await purger.PurgeAsync(snapshot.Definition, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // Whatever went wrong (store down, a driver error mid-read), a background purge must never stop the host:
            // the records stay, which is the safe direction, and the next run tries again.
            Log.PurgeFailed(logger, ex);
        }
    }
}
