namespace EligibilityGateway.Caching;

/// <summary>
/// Creates the cache store when the host starts, and with it the shared Redis connection (<see cref="RedisConnection"/>),
/// so that Redis is connected before the first request arrives rather than while it waits. Making the connection waits
/// for its first attempt only (at most <see cref="CacheOptions.ConnectTimeout"/>; a refused connection fails at once):
/// a Redis that is down does not hold up start-up (Redis down is degraded, not unready).
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
