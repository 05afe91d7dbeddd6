using System.Diagnostics;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MockCentralGovernment.Configuration;

namespace MockCentralGovernment.Population;

internal static class PopulationServices
{
    /// <summary>Registers the population as a singleton built once from <see cref="PopulationOptions"/>, and builds it at start.</summary>
    public static IServiceCollection AddPopulation(this IServiceCollection services)
    {
        services.AddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<MockGovernmentOptions>>().Value.Population;
            var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(PopulationStore).FullName!);
            var started = Stopwatch.GetTimestamp();
            var store = PopulationStore.Create(options.Seed, options.Size);
            Log.PopulationBuilt(logger, store.Fixtures.Count + store.Synthetic.Count, store.DwpCount, store.HmrcCount, store.HomeOfficeCount, options.Seed, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return store;
        });
        services.AddHostedService<PopulationWarmUp>();
        services.AddHealthChecks().AddCheck<PopulationHealthCheck>("population", tags: ["ready"]);
        return services;
    }

    /// <summary>Builds the population during start-up so the first call is not the slow one.</summary>
    private sealed class PopulationWarmUp(IServiceProvider services) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            services.GetRequiredService<PopulationStore>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>Ready once the named fixtures are loaded — the people the sandbox and tests depend on.</summary>
    private sealed class PopulationHealthCheck(PopulationStore population) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(population.Fixtures.Count > 0 ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("The population is empty."));
    }
}
