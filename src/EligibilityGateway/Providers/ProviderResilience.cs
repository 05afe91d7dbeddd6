using System.Net;
using System.Threading.RateLimiting;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace EligibilityGateway.Providers;

/// <summary>What a provider's pipeline is built from; a reload that changes any of these rebuilds it.</summary>
internal sealed record ProviderPipelineSettings(TimeSpan AttemptTimeout, TimeSpan TotalTimeout, int MaxConcurrency);

/// <summary>
/// One provider's Polly pipeline (README.md), outermost first: total timeout → concurrency limiter → retry →
/// circuit breaker → attempt timeout → HTTP. The order is what makes each bound mean what it says:
/// <list type="bullet">
/// <item>the total timeout covers the whole call, including time queued for a concurrency slot and every retry delay;</item>
/// <item>the limiter holds one slot per call (not per attempt), so <c>max_concurrency</c> bounds the calls in flight
/// towards the provider and a call never loses its slot between retries;</item>
/// <item>the retry sits outside the breaker, so once the circuit opens the remaining retries fail at once instead of
/// waiting out their backoff against a provider known to be down;</item>
/// <item>the breaker counts attempts (each timed out attempt is one failure), so an outage opens it quickly.</item>
/// </list>
/// </summary>
internal sealed class ProviderPipeline
{
    /// <summary>When the call entered the pipeline, as a <see cref="TimeProvider"/> timestamp; read to bound <c>Retry-After</c>.</summary>
    public static readonly ResiliencePropertyKey<long> StartedKey = new("eligibility-gateway.provider.started");

    private readonly CircuitBreakerStateProvider breakerState = new();
    private readonly TimeProvider timeProvider;

    public ProviderPipeline(string providerId, ProviderPipelineSettings settings, ProviderResilienceOptions options, TimeProvider timeProvider, ILogger logger)
    {
        ProviderId = providerId;
        Settings = settings;
        this.timeProvider = timeProvider;
        // Permits are never replenished by a timer, so a limiter that is replaced on reload needs no disposal: calls
        // holding or awaiting its slots finish against it, and it is collected with the old pipeline.
        Limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = settings.MaxConcurrency,
            QueueLimit = options.QueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });

        Pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = $"provider-{providerId}", TimeProvider = timeProvider }
            .AddTimeout(new TimeoutStrategyOptions { Name = "total-timeout", Timeout = settings.TotalTimeout })
            .AddStrategy(_ => new ConcurrencyLimiterStrategy(Limiter))
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } response ? RetryAfter.Delay(response, timeProvider.GetUtcNow()) : null),
                OnRetry = args =>
                {
                    Log.Retrying(logger, providerId, args.AttemptNumber + 1, TransientFailures.Describe(args.Outcome), args.RetryDelay.TotalMilliseconds);
                    return ValueTask.CompletedTask;
                },
            })
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                FailureRatio = options.BreakerFailureRatio,
                MinimumThroughput = options.BreakerMinimumThroughput,
                SamplingDuration = options.BreakerSamplingDuration,
                BreakDuration = options.BreakerBreakDuration,
                StateProvider = breakerState,
                ShouldHandle = args => ValueTask.FromResult(TransientFailures.IsTransient(args.Outcome)),
                OnOpened = args =>
                {
                    Log.CircuitOpened(logger, providerId, TransientFailures.Describe(args.Outcome), args.BreakDuration.TotalMilliseconds);
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
            .AddTimeout(new TimeoutStrategyOptions { Name = "attempt-timeout", Timeout = settings.AttemptTimeout })
            .Build();
    }

    public string ProviderId { get; }

    public ProviderPipelineSettings Settings { get; }

    public ResiliencePipeline<HttpResponseMessage> Pipeline { get; }

    public ConcurrencyLimiter Limiter { get; }

    /// <summary>Closed, Open, HalfOpen or Isolated; Closed until the first call.</summary>
    public CircuitState CircuitState => breakerState.CircuitState;

    private bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context)
    {
        if (!TransientFailures.IsTransient(outcome))
        {
            return false;
        }

        // A provider that asks us to wait longer than the call has left would only be retried into the total
        // timeout: answer with its failure now instead.
        if (outcome.Result is { } response && RetryAfter.Delay(response, timeProvider.GetUtcNow()) is { } wait &&
            context.Properties.TryGetValue(StartedKey, out var started))
        {
            return wait < Settings.TotalTimeout - timeProvider.GetElapsedTime(started);
        }

        return true;
    }
}

/// <summary>What counts as transient: worth a retry and a mark against the circuit.</summary>
internal static class TransientFailures
{
    /// <summary>
    /// Transport errors, an attempt that timed out, and 408, 429, 500, 502, 503, 504. Every other status —
    /// 400, 401, 403, 404 and the rest — is an answer that asking again would not change.
    /// </summary>
    public static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome.Exception switch
    {
        null => outcome.Result is { } response && IsTransientStatus(response.StatusCode),
        HttpRequestException => true,
        TimeoutRejectedException => true,
        _ => false,
    };

    public static bool IsTransientStatus(HttpStatusCode status) => status is
        HttpStatusCode.RequestTimeout or
        HttpStatusCode.TooManyRequests or
        HttpStatusCode.InternalServerError or
        HttpStatusCode.BadGateway or
        HttpStatusCode.ServiceUnavailable or
        HttpStatusCode.GatewayTimeout;

    /// <summary>For logs: the status code or the exception type, never a message (it may quote the URL).</summary>
    public static string Describe(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } exception ? exception.GetType().Name : $"HTTP {(int)(outcome.Result?.StatusCode ?? 0)}";
}

/// <summary>RFC 9110 §10.2.3 <c>Retry-After</c>: delay-seconds or an HTTP date.</summary>
internal static class RetryAfter
{
    /// <summary>How long the provider asked us to wait, or null when it did not say (or said something unreadable).</summary>
    public static TimeSpan? Delay(HttpResponseMessage response, DateTimeOffset now)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta >= TimeSpan.Zero ? delta : null;
        }

        if (header?.Date is { } date)
        {
            var wait = date - now;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }
}

/// <summary>A call found every one of its provider's <c>max_concurrency</c> slots taken and the queue full.</summary>
internal sealed class ConcurrencyLimitExceededException : Exception
{
    public ConcurrencyLimitExceededException()
        : base("The provider's concurrency limit and queue are full.")
    {
    }

    public ConcurrencyLimitExceededException(string message)
        : base(message)
    {
    }

    public ConcurrencyLimitExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Holds a <see cref="ConcurrencyLimiter"/> slot for the rest of the pipeline. Polly.RateLimiting is not among the
/// packages available to this project, and this is all of it the gateway needs.
/// </summary>
internal sealed class ConcurrencyLimiterStrategy(ConcurrencyLimiter limiter) : ResilienceStrategy<HttpResponseMessage>
{
    protected override async ValueTask<Outcome<HttpResponseMessage>> ExecuteCore<TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback,
        ResilienceContext context,
        TState state)
    {
        RateLimitLease lease;
        try
        {
            lease = await limiter.AcquireAsync(1, context.CancellationToken).ConfigureAwait(context.ContinueOnCapturedContext);
        }
        catch (OperationCanceledException ex)
        {
            // Cancelled while queued: by the total timeout (which turns this into a timeout) or by the caller.
            return Outcome.FromException<HttpResponseMessage>(ex);
        }

        using (lease)
        {
            if (!lease.IsAcquired)
            {
                return Outcome.FromException<HttpResponseMessage>(new ConcurrencyLimitExceededException());
            }

            return await callback(context, state).ConfigureAwait(context.ContinueOnCapturedContext);
        }
    }
}

/// <summary>
/// Runs every provider request through its provider's <see cref="ProviderPipeline"/>. The provider id travels in
/// <see cref="HttpRequestMessage.Options"/> (<see cref="ProviderEndpoint.OptionsKey"/>), so one handler serves every provider.
/// </summary>
internal sealed class ProviderResilienceHandler(ProviderPipelines pipelines, TimeProvider timeProvider) : DelegatingHandler
{
    /// <summary>Bodies are read inside the attempt, so the attempt timeout covers them; a provider answer is small.</summary>
    private const long MaximumResponseBytes = 1024 * 1024;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Options.TryGetValue(ProviderEndpoint.OptionsKey, out var endpoint))
        {
            throw new InvalidOperationException("A provider request must name its provider in HttpRequestMessage.Options.");
        }

        var pipeline = pipelines.Get(endpoint.ProviderId);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(ProviderPipeline.StartedKey, timeProvider.GetTimestamp());
        try
        {
            var outcome = await pipeline.Pipeline.ExecuteOutcomeAsync(
                static async (ctx, state) =>
                {
                    try
                    {
                        var response = await state.Handler.SendAttemptAsync(state.Request, ctx.CancellationToken).ConfigureAwait(false);
                        return Outcome.FromResult(response);
                    }
                    catch (Exception ex)
                    {
                        return Outcome.FromException<HttpResponseMessage>(ex);
                    }
                },
                context,
                (Handler: this, Request: request)).ConfigureAwait(false);
            outcome.ThrowIfException();
            return outcome.Result!;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task<HttpResponseMessage> SendAttemptAsync(HttpRequestMessage request, CancellationToken cancellationToken)
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
