using System.Collections.Frozen;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Polly.CircuitBreaker;

namespace EligibilityGateway.Providers;

/// <summary>
/// One <see cref="ProviderPipeline"/> per provider of the trust framework in force. When the framework reloads, a
/// provider whose timeouts or <c>max_concurrency</c> changed gets a new pipeline (and so a new, closed circuit);
/// every other provider keeps its pipeline, with its circuit state and its calls in flight.
/// </summary>
internal sealed class ProviderPipelines : IDisposable
{
    private readonly TrustFrameworkMonitor monitor;
    private readonly ProviderResilienceOptions options;
    private readonly TimeProvider timeProvider;
    private readonly ILogger<ProviderPipelines> logger;
    private readonly Lock buildLock = new();
    private FrozenDictionary<string, ProviderPipeline> pipelines = FrozenDictionary<string, ProviderPipeline>.Empty;
    private IDisposable? reloadRegistration;

    public ProviderPipelines(TrustFrameworkMonitor monitor, IOptions<ProviderResilienceOptions> options, TimeProvider timeProvider, ILogger<ProviderPipelines> logger)
    {
        this.monitor = monitor;
        this.options = options.Value;
        this.timeProvider = timeProvider;
        this.logger = logger;
    }

    /// <summary>Builds the pipelines for the framework in force and follows its reloads. Idempotent.</summary>
    public void Start()
    {
        lock (buildLock)
        {
            if (reloadRegistration is not null)
            {
                return;
            }

            Refresh(monitor.Current);
            reloadRegistration = ChangeToken.OnChange(monitor.GetReloadToken, () => Refresh(monitor.Current));
        }
    }

    /// <summary>The pipeline of <paramref name="providerId"/>.</summary>
    /// <exception cref="InvalidOperationException">The framework in force names no such provider.</exception>
    public ProviderPipeline Get(string providerId)
    {
        if (Volatile.Read(ref pipelines).TryGetValue(providerId, out var pipeline))
        {
            return pipeline;
        }

        // First use before the host ran Start (a component resolved on its own, in a test), or a provider that a
        // reload has just added: build from the framework in force.
        Start();
        Refresh(monitor.Current);
        return Volatile.Read(ref pipelines).TryGetValue(providerId, out pipeline)
            ? pipeline
            : throw new InvalidOperationException($"The trust framework in force names no provider '{providerId}'.");
    }

    /// <summary>The circuit state of every provider of the framework in force, for health and metrics.</summary>
    public IReadOnlyDictionary<string, CircuitState> GetCircuitStates() =>
        Volatile.Read(ref pipelines).ToDictionary(p => p.Key, p => p.Value.CircuitState, StringComparer.Ordinal);

    private void Refresh(TrustFrameworkSnapshot snapshot)
    {
        lock (buildLock)
        {
            var current = Volatile.Read(ref pipelines);
            var next = new Dictionary<string, ProviderPipeline>(StringComparer.Ordinal);
            foreach (var provider in snapshot.Definition.Providers)
            {
                var settings = new ProviderPipelineSettings(provider.AttemptTimeout, provider.TotalTimeout, provider.MaxConcurrency);
                if (current.TryGetValue(provider.Id, out var existing) && existing.Settings == settings)
                {
                    next[provider.Id] = existing;
                    continue;
                }

                next[provider.Id] = new ProviderPipeline(provider.Id, settings, options, timeProvider, logger);
                Log.PipelineBuilt(logger, provider.Id, settings.AttemptTimeout, settings.TotalTimeout, settings.MaxConcurrency);
            }

            foreach (var removed in current.Keys.Where(id => !next.ContainsKey(id)))
            {
                Log.PipelineRemoved(logger, removed);
            }

            Volatile.Write(ref pipelines, next.ToFrozenDictionary(StringComparer.Ordinal));
        }
    }

    public void Dispose() => reloadRegistration?.Dispose();
}
