using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Threading.RateLimiting;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Polly;
using Polly.CircuitBreaker;
using Polly.RateLimiting;

namespace EligibilityGateway.Providers;

/// <summary>
/// What the trust framework sizes in a provider's pipeline (README.md, "The pipeline"). Named options: the name is
/// the provider id, and <see cref="ProviderLimitsMonitor"/> is their source.
/// </summary>
internal sealed record ProviderLimits(TimeSpan AttemptTimeout, TimeSpan TotalTimeout, int MaxConcurrency)
{
    public static ProviderLimits Of(DataProvider provider) => new(provider.AttemptTimeout, provider.TotalTimeout, provider.MaxConcurrency);
}

/// <summary>
/// <see cref="IOptionsMonitor{TOptions}"/> of each provider's <see cref="ProviderLimits"/>, read from the trust framework
/// in force. When the framework reloads it reports a change for exactly the providers whose limits changed, so that
/// the resilience pipelines listening through <c>EnableReloads&lt;ProviderLimits&gt;(providerId)</c> rebuild those and
/// no other: every other provider keeps its pipeline, its circuit state and its calls in flight.
/// </summary>
internal sealed class ProviderLimitsMonitor : IOptionsMonitor<ProviderLimits>, IDisposable
{
    private readonly TrustFrameworkMonitor framework;
    private readonly ILogger<ProviderLimitsMonitor> logger;
    private readonly Lock gate = new();
    private readonly IDisposable reloadRegistration;
    private ImmutableDictionary<string, ProviderLimits> limits = ImmutableDictionary.Create<string, ProviderLimits>(StringComparer.Ordinal);
    private ImmutableArray<Action<ProviderLimits, string?>> listeners = [];

    public ProviderLimitsMonitor(TrustFrameworkMonitor framework, ILogger<ProviderLimitsMonitor> logger)
    {
        this.framework = framework;
        this.logger = logger;
        Refresh();
        reloadRegistration = ChangeToken.OnChange(framework.GetReloadToken, Refresh);
    }

    /// <summary>Not meaningful: limits are per provider. The first provider's, so that the interface holds.</summary>
    public ProviderLimits CurrentValue => Volatile.Read(ref limits).Values.First();

    /// <summary>The limits of provider <paramref name="name"/> in the framework in force.</summary>
    /// <exception cref="InvalidOperationException">No framework loaded so far has named that provider.</exception>
    public ProviderLimits Get(string? name)
    {
        if (name is not null && Volatile.Read(ref limits).TryGetValue(name, out var found))
        {
            return found;
        }

        // The framework may have loaded after this monitor was built, before its reload token fired.
        Refresh();
        return name is not null && Volatile.Read(ref limits).TryGetValue(name, out found)
            ? found
            : throw new InvalidOperationException($"The trust framework in force names no provider '{name}'.");
    }

    public IDisposable OnChange(Action<ProviderLimits, string?> listener)
    {
        lock (gate)
        {
            listeners = listeners.Add(listener);
        }

        return new Unsubscriber(this, listener);
    }

    public void Dispose() => reloadRegistration.Dispose();

    private void Refresh()
    {
        if (!framework.TryGetCurrent(out var snapshot))
        {
            return;
        }

        List<(string Id, ProviderLimits Limits)> changed = [];
        ImmutableArray<Action<ProviderLimits, string?>> notify;
        lock (gate)
        {
            var current = limits;
            var next = current.ToBuilder();
            foreach (var provider in snapshot.Definition.Providers)
            {
                var value = ProviderLimits.Of(provider);
                if (!current.TryGetValue(provider.Id, out var before) || before != value)
                {
                    next[provider.Id] = value;
                    if (before is not null)
                    {
                        changed.Add((provider.Id, value));
                    }
                }
            }

            // A provider the framework no longer names keeps its last limits: a check that read the previous framework
            // may still be calling it. Its pipeline simply goes unused.
            foreach (var removed in current.Keys.Where(id => !snapshot.Definition.Providers.Any(p => p.Id == id)))
            {
                Log.PipelineRemoved(logger, removed);
            }

            Volatile.Write(ref limits, next.ToImmutable());
            notify = listeners;
        }

        foreach (var (id, value) in changed)
        {
            foreach (var listener in notify)
            {
                listener(value, id);
            }
        }
    }

    private sealed class Unsubscriber(ProviderLimitsMonitor owner, Action<ProviderLimits, string?> listener) : IDisposable
    {
        public void Dispose()
        {
            lock (owner.gate)
            {
                owner.listeners = owner.listeners.Remove(listener);
            }
        }
    }
}

/// <summary>
/// The circuit state of every provider of the framework in force, for health and metrics: <see cref="GetStates"/>.
/// Each pipeline registers its breaker's <see cref="CircuitBreakerStateProvider"/> here when it is built; a provider
/// whose pipeline has not been built yet (no call so far) is closed.
/// </summary>
internal sealed class ProviderCircuits(TrustFrameworkMonitor framework)
{
    private readonly ConcurrentDictionary<string, CircuitBreakerStateProvider> breakers = new(StringComparer.Ordinal);

    /// <summary>provider id → Closed, Open, HalfOpen (or Isolated), for every provider the framework in force names.</summary>
    public IReadOnlyDictionary<string, CircuitState> GetStates()
    {
        if (!framework.TryGetCurrent(out var snapshot))
        {
            return ImmutableDictionary<string, CircuitState>.Empty;
        }

        return snapshot.Definition.Providers.ToDictionary(
            p => p.Id,
            p => breakers.TryGetValue(p.Id, out var breaker) ? breaker.CircuitState : CircuitState.Closed,
            StringComparer.Ordinal);
    }

    /// <summary>Called by a provider's pipeline as it is built: its breaker replaces the previous pipeline's.</summary>
    public void Track(string providerId, CircuitBreakerStateProvider breaker) => breakers[providerId] = breaker;

    /// <summary>Called as a pipeline is disposed; forgets its breaker unless a newer pipeline's has replaced it.</summary>
    public void Forget(string providerId, CircuitBreakerStateProvider breaker) =>
        breakers.TryRemove(new KeyValuePair<string, CircuitBreakerStateProvider>(providerId, breaker));
}

/// <summary>
/// Builds one provider's pipeline for <c>AddResilienceHandler</c> (README.md, "The pipeline"), outermost first:
/// total timeout → concurrency limiter → retry → circuit breaker → attempt timeout. The order is what makes each bound
/// mean what it says:
/// <list type="bullet">
/// <item>the total timeout covers the whole call, including time queued for a concurrency slot and every retry delay;</item>
/// <item>the limiter holds one slot per call (not per attempt), so <c>max_concurrency</c> bounds the calls in flight
/// towards the provider and a call never loses its slot between retries;</item>
/// <item>the retry sits outside the breaker, so once the circuit opens the remaining retries fail at once instead of
/// waiting out their backoff against a provider known to be down;</item>
/// <item>the breaker counts attempts (each timed-out attempt is one failure), so an outage opens it quickly.</item>
/// </list>
/// </summary>
internal static class ProviderPipeline
{
    /// <summary>The pipeline identifier under the HttpClient's name (<c>EligibilityGateway.Providers-provider</c>).</summary>
    public const string Name = "provider";

    /// <summary>One pipeline instance per provider: the key is the provider id the call carries.</summary>
    public static string SelectProvider(HttpRequestMessage request) =>
        request.Options.TryGetValue(ProviderEndpoint.OptionsKey, out var endpoint) ? endpoint.ProviderId : "";

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, ResilienceHandlerContext context)
    {
        var providerId = context.InstanceName;
        var services = context.ServiceProvider;
        // Re-sized when the trust framework changes this provider's limits (ProviderLimitsMonitor).
        context.EnableReloads<ProviderLimits>(providerId);
        var limits = context.GetOptions<ProviderLimits>(providerId);
        var options = services.GetRequiredService<IOptions<ProviderResilienceOptions>>().Value;
        var time = services.GetRequiredService<TimeProvider>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProviderPipeline).FullName!);
        var circuits = services.GetRequiredService<ProviderCircuits>();

        var breaker = new CircuitBreakerStateProvider();
        circuits.Track(providerId, breaker);
        context.OnPipelineDisposed(() => circuits.Forget(providerId, breaker));

        builder
            .AddTimeout(new HttpTimeoutStrategyOptions { Name = "total-timeout", Timeout = limits.TotalTimeout })
            // Permits are not replenished by a timer; Polly disposes this limiter with the pipeline, after the calls
            // that hold or await its slots have finished.
            .AddRateLimiter(new RateLimiterStrategyOptions
            {
                Name = "concurrency-limit",
                DefaultRateLimiterOptions = new ConcurrencyLimiterOptions
                {
                    PermitLimit = limits.MaxConcurrency,
                    QueueLimit = options.QueueLimit,
                    QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                },
            });

        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                Name = "retry",
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                // Retry-After (seconds or HTTP date) replaces the backoff, even beyond MaxDelay.
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(
                    HttpClientResiliencePredicates.IsTransient(args.Outcome) && RetryAfterFits(args.Outcome, args.Context, limits.TotalTimeout, time)),
                OnRetry = args =>
                {
                    Log.Retrying(logger, providerId, args.AttemptNumber + 1, Describe(args.Outcome), args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            });
        }

        builder
            .AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
            {
                Name = "circuit-breaker",
                FailureRatio = options.BreakerFailureRatio,
                MinimumThroughput = options.BreakerMinimumThroughput,
                SamplingDuration = options.BreakerSamplingDuration,
                BreakDuration = options.BreakerBreakDuration,
                StateProvider = breaker,
                OnOpened = args =>
                {
                    Log.CircuitOpened(logger, providerId, Describe(args.Outcome), args.BreakDuration.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
                OnHalfOpened = _ =>
                {
                    Log.CircuitHalfOpened(logger, providerId);
                    return ValueTask.CompletedTask;
                },
                OnClosed = _ =>
                {
                    Log.CircuitClosed(logger, providerId);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(new HttpTimeoutStrategyOptions { Name = "attempt-timeout", Timeout = limits.AttemptTimeout });

        Log.PipelineBuilt(logger, providerId, limits.AttemptTimeout, limits.TotalTimeout, limits.MaxConcurrency);
    }

    /// <summary>
    /// A provider that asks us to wait longer than the call has left of its total timeout would only be retried into
    /// that timeout: answer with its failure now instead.
    /// </summary>
    private static bool RetryAfterFits(Outcome<HttpResponseMessage> outcome, ResilienceContext context, TimeSpan totalTimeout, TimeProvider time)
    {
        if (outcome.Result?.Headers.RetryAfter is not { } retryAfter ||
            context.GetRequestMessage()?.Options.TryGetValue(ProviderEndpoint.StartedKey, out var started) != true)
        {
            return true;
        }

        var wait = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - time.GetUtcNow() : TimeSpan.Zero);
        return wait < totalTimeout - time.GetElapsedTime(started);
    }

    /// <summary>For logs: the status code or the exception type, never a message (it may quote the URL).</summary>
    private static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } exception ? exception.GetType().Name : $"HTTP {(int)(outcome.Result?.StatusCode ?? 0)}";
}

/// <summary>
/// Reads each response body into memory inside the attempt that received it (at most 1 MiB; a provider answer is
/// small), so that the attempt timeout covers a body that trickles in, and a body cut short fails that attempt as a
/// transport error, which is retried, rather than failing later while it is read.
/// </summary>
internal sealed class ProviderResponseBuffering : DelegatingHandler
{
    private const long MaximumResponseBytes = 1024 * 1024;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            await response.Content.LoadIntoBufferAsync(MaximumResponseBytes, cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
