using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace EligibilityGateway.ServiceDefaults;

/// <summary>
/// OpenTelemetry wiring shared by the gateway and the mock central government: traces, metrics and logs exported
/// over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, and nothing at all otherwise.
/// </summary>
/// <remarks>
/// Everything else is configured the OpenTelemetry way, through the standard <c>OTEL_*</c> variables
/// (<c>OTEL_EXPORTER_OTLP_PROTOCOL</c>, <c>OTEL_EXPORTER_OTLP_HEADERS</c>, <c>OTEL_RESOURCE_ATTRIBUTES</c>,
/// <c>OTEL_BSP_SCHEDULE_DELAY</c>, <c>OTEL_METRIC_EXPORT_INTERVAL</c>, …). URLs are redacted before export
/// (<see cref="UrlRedactionProcessor"/>), so no path segment or query a person could be identified by leaves the
/// process.
/// </remarks>
public static class ServiceTelemetry
{
    /// <summary>The standard variable that turns export on.</summary>
    public const string EndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The meter Polly (and so Microsoft.Extensions.Http.Resilience) reports through.</summary>
    public const string PollyMeter = "Polly";

    /// <summary>Whether <paramref name="configuration"/> asks for OTLP export.</summary>
    public static bool IsEnabled(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[EndpointSetting]);

    /// <summary>
    /// Adds tracing, metrics and logging through OpenTelemetry with OTLP export, when the endpoint is configured.
    /// </summary>
    /// <param name="builder">The host being built.</param>
    /// <param name="serviceName">The <c>service.name</c> resource attribute.</param>
    /// <param name="activitySources">The service's own activity sources.</param>
    /// <param name="meters">The service's own meters.</param>
    /// <returns>Whether telemetry was added.</returns>
    public static bool AddServiceTelemetry(
        this IHostApplicationBuilder builder,
        string serviceName,
        IEnumerable<string> activitySources,
        IEnumerable<string> meters)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!IsEnabled(builder.Configuration))
        {
            return false;
        }

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            // Scopes carry request paths and whatever callers put in them; messages are written to be safe, scopes are not.
            logging.IncludeScopes = false;
        });

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(tracing => tracing
                .AddSource([.. activitySources])
                .AddAspNetCoreInstrumentation(options =>
                {
                    // Probes every few seconds would drown the traces that matter.
                    options.Filter = context => !context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal);
                })
                .AddHttpClientInstrumentation()
                .AddProcessor(new UrlRedactionProcessor()))
            .WithMetrics(metrics => metrics
                .AddMeter([.. meters, PollyMeter])
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation())
            .WithLogging()
            .UseOtlpExporter();
        return true;
    }
}
