namespace EligibilityGateway.Caching;

/// <summary>
/// Creates the cache store when the host starts, so that Redis is connecting before the first check arrives
/// rather than after it (until connected, lookups miss). Does not wait for the connection: a Redis that is down
/// must not hold up start-up (Redis down is degraded, not unready).
/// </summary>
internal sealed class CacheStoreStarter(ICacheStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = store.Name;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
