using Microsoft.Extensions.Logging;
using MockCentralGovernment.Providers;

namespace MockCentralGovernment.Faults;

/// <summary>
/// The endpoint filter in front of each provider's API that applies its <see cref="FaultSettings"/>: outage, then
/// latency and jitter, then timeout, then errors. With no faults set it costs one volatile read.
/// </summary>
internal static class FaultInjection
{
    /// <summary>Seconds a client is told to wait after an injected 503.</summary>
    public const int RetryAfterSeconds = 1;

    public static TBuilder WithFaultInjection<TBuilder>(this TBuilder builder, ProviderKind provider)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory((factoryContext, next) =>
        {
            var services = factoryContext.ApplicationServices;
            var faults = services.GetRequiredService<FaultController>();
            var time = services.GetRequiredService<TimeProvider>();
            var timer = services.GetRequiredService<LatencyTimer>();
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(FaultInjection).FullName!);
            return invocation =>
            {
                var settings = faults.Get(provider);
                return settings.IsQuiet ? next(invocation) : ApplyAsync(invocation, next, settings, provider, faults, time, timer, logger);
            };
        });

    private static async ValueTask<object?> ApplyAsync(
        EndpointFilterInvocationContext invocation,
        EndpointFilterDelegate next,
        FaultSettings settings,
        ProviderKind provider,
        FaultController faults,
        TimeProvider time,
        LatencyTimer timer,
        ILogger logger)
    {
        var context = invocation.HttpContext;
        if (settings.Outage)
        {
            Log.FaultInjected(logger, provider.Slug(), "outage");
            return Problems.Outage();
        }

        try
        {
            var delay = settings.LatencyMilliseconds;
            if (settings.JitterMilliseconds > 0)
            {
                delay += (int)(faults.NextUnit(provider) * (settings.JitterMilliseconds + 1));
            }

            if (delay > 0)
            {
                await DelayAtLeastAsync(TimeSpan.FromMilliseconds(delay), time, timer, context.RequestAborted);
            }

            if (settings.TimeoutRate > 0 && faults.NextUnit(provider) < settings.TimeoutRate)
            {
                Log.FaultInjected(logger, provider.Slug(), "timeout");
                await DelayAtLeastAsync(TimeSpan.FromMilliseconds(settings.TimeoutHoldMilliseconds), time, timer, context.RequestAborted);
                return Problems.Timeout();
            }
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client gave up; there is nobody to answer.
            return Results.Empty;
        }

        if (settings.ErrorRate > 0 && faults.NextUnit(provider) < settings.ErrorRate)
        {
            // Half the injected errors are transient-looking 503s with Retry-After, half plain 500s, so a client's
            // retry policy meets both.
            var unavailable = faults.NextUnit(provider) < 0.5;
            Log.FaultInjected(logger, provider.Slug(), unavailable ? "error-503" : "error-500");
            return unavailable ? Problems.InjectedUnavailable(context, RetryAfterSeconds) : Problems.InjectedServerError();
        }

        return await next(invocation);
    }

    // On the system clock, the latency timer (closer to the set latency than Task.Delay). On another clock (a test's
    // fake one), Task.Delay on that clock: its timers fire on a coarse tick and can wake up early; the contract promises
    // at least the set latency, so sleep again for whatever is left.
    private static async Task DelayAtLeastAsync(TimeSpan delay, TimeProvider time, LatencyTimer timer, CancellationToken cancellationToken)
    {
        if (time == TimeProvider.System)
        {
            await timer.DelayAsync(delay, cancellationToken);
            return;
        }

        var started = time.GetTimestamp();
        for (var remaining = delay; remaining > TimeSpan.Zero; remaining = delay - time.GetElapsedTime(started))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(remaining.TotalMilliseconds)), time, cancellationToken);
        }
    }
}
