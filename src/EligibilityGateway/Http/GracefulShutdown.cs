using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Http;

/// <summary>Configuration section <c>Shutdown</c>: how the gateway leaves a load balancer when asked to stop.</summary>
internal sealed class ShutdownOptions
{
    public const string SectionName = "Shutdown";

    /// <summary>
    /// How long, after the stop begins (SIGTERM), the gateway keeps taking requests while reporting not ready, so that
    /// a load balancer polling <c>/health/ready</c> stops sending it any before the server closes its listeners.
    /// </summary>
    /// <value>
    /// Default 0 (close at once, for a host no load balancer watches); 0 to 60 seconds, and less than the host's
    /// shutdown timeout (<c>HostOptions:ShutdownTimeout</c>, <c>DOTNET_SHUTDOWNTIMEOUTSECONDS</c>), which covers it.
    /// </value>
    public TimeSpan ReadinessDelay { get; set; } = TimeSpan.Zero;
}

/// <summary>The delay's range, and that it leaves time inside the host's shutdown timeout for the requests in flight.</summary>
internal sealed class ShutdownOptionsValidator(IOptions<HostOptions> host) : IValidateOptions<ShutdownOptions>
{
    public ValidateOptionsResult Validate(string? name, ShutdownOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ReadinessDelay < TimeSpan.Zero || options.ReadinessDelay > TimeSpan.FromSeconds(60))
        {
            return ValidateOptionsResult.Fail("Shutdown:ReadinessDelay must be from 00:00:00 to 00:01:00.");
        }

        var timeout = host.Value.ShutdownTimeout;
        return options.ReadinessDelay > TimeSpan.Zero && options.ReadinessDelay >= timeout
            ? ValidateOptionsResult.Fail(
                $"Shutdown:ReadinessDelay ({options.ReadinessDelay}) must be less than the host's shutdown timeout ({timeout}, HostOptions:ShutdownTimeout or DOTNET_SHUTDOWNTIMEOUTSECONDS), " +
                "which covers the delay and the requests still in flight.")
            : ValidateOptionsResult.Success;
    }
}

/// <summary>
/// The first step of stopping. When the host is asked to stop (SIGTERM, <c>StopApplication</c>), readiness turns
/// unhealthy at once (a readiness check tagged <c>ready</c>), and this service's <c>StoppingAsync</c>, which the host
/// runs before any service's <c>StopAsync</c>, holds the stop for <see cref="ShutdownOptions.ReadinessDelay"/>: the
/// server still answers what arrives while the load balancer notices. Then the host stops Kestrel (no new
/// connections; requests in flight finish), and the audit log, in its <c>StoppedAsync</c>, commits what is queued and
/// signs a checkpoint. All of it within the host's shutdown timeout (README.md, "Stopping").
/// </summary>
internal sealed class GracefulShutdown(
    IHostApplicationLifetime lifetime,
    IOptions<ShutdownOptions> options,
    TimeProvider timeProvider,
    ILogger<GracefulShutdown> logger) : IHostedLifecycleService, IHealthCheck
{
    /// <summary>The readiness check's name.</summary>
    public const string Name = "shutdown";

    private CancellationTokenRegistration onStopping;
    private int stopping;

    /// <summary>Whether the stop has begun.</summary>
    public bool IsStopping => Volatile.Read(ref stopping) == 1;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(IsStopping
            ? HealthCheckResult.Unhealthy("The gateway is stopping and takes no new work.")
            : HealthCheckResult.Healthy());

    Task IHostedLifecycleService.StartingAsync(CancellationToken cancellationToken)
    {
        // ApplicationStopping fires the moment the stop is asked for, before the host runs any stopping step.
        onStopping = lifetime.ApplicationStopping.Register(BeginStopping);
        return Task.CompletedTask;
    }

    Task IHostedService.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    async Task IHostedLifecycleService.StoppingAsync(CancellationToken cancellationToken)
    {
        BeginStopping();
        var delay = options.Value.ReadinessDelay;
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        try
        {
            await Task.Delay(delay, timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The shutdown timeout ran out (the validator keeps the delay below it): stop now.
        }

        Log.ClosingListeners(logger);
    }

    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StoppedAsync(CancellationToken cancellationToken)
    {
        onStopping.Dispose();
        return Task.CompletedTask;
    }

    private void BeginStopping()
    {
        if (Interlocked.Exchange(ref stopping, 1) == 0)
        {
            Log.Stopping(logger, options.Value.ReadinessDelay.TotalSeconds);
        }
    }
}

internal static partial class Log
{
    [LoggerMessage(EventId = 2910, Level = LogLevel.Information, Message = "Stopping: readiness now reports unavailable; the server keeps answering for {DelaySeconds} s, then takes no new requests and finishes those in flight")]
    public static partial void Stopping(ILogger logger, double delaySeconds);

    [LoggerMessage(EventId = 2911, Level = LogLevel.Information, Message = "Stopping: the readiness delay is over; the server closes its listeners")]
    public static partial void ClosingListeners(ILogger logger);
}

/// <summary>Registers <see cref="GracefulShutdown"/>.</summary>
internal static class GracefulShutdownServiceCollectionExtensions
{
    /// <summary>
    /// Adds the readiness check that turns unhealthy when the stop begins and the delay before the server closes its
    /// listeners (<c>Shutdown</c> section, validated on start against the host's shutdown timeout).
    /// </summary>
    public static IServiceCollection AddGracefulShutdown(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ShutdownOptions>().Bind(configuration.GetSection(ShutdownOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ShutdownOptions>, ShutdownOptionsValidator>();
        services.AddSingleton<GracefulShutdown>();
        services.AddHostedService(provider => provider.GetRequiredService<GracefulShutdown>());
        services.AddHealthChecks().AddCheck<GracefulShutdown>(GracefulShutdown.Name, tags: [GatewayApplication.ReadyTag]);
        return services;
    }
}
