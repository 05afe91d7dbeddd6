using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
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
/// over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, metrics for Prometheus to scrape when
/// <c>Telemetry:Prometheus:Port</c> is set, and nothing at all otherwise.
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

    /// <summary>The activity source of ASP.NET Core's request spans.</summary>
    public const string AspNetCoreSource = "Microsoft.AspNetCore";

    /// <summary>
    /// ASP.NET Core's meters worth a dashboard: requests (<c>http.server.request.duration</c>, active requests),
    /// connections, unhandled exceptions and rate limiting. Routing, authentication and authorization also report
    /// a measurement per request; they say nothing the request metric does not and cost every request.
    /// </summary>
    public static readonly IReadOnlyList<string> AspNetCoreMeters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.AspNetCore.RateLimiting",
    ];

    /// <summary>
    /// The port on which the service answers Prometheus at <c>GET /metrics</c> (the text exposition format). The
    /// service must also listen on it (<c>ASPNETCORE_HTTP_PORTS=8080;9464</c>); keep it off the public ingress.
    /// </summary>
    public const string PrometheusPortSetting = "Telemetry:Prometheus:Port";

    /// <summary>The scrape path on <see cref="PrometheusPortSetting"/>.</summary>
    public const string MetricsPath = "/metrics";

    private const string AspNetCoreActivityDataSwitch = "Microsoft.AspNetCore.Hosting.SuppressActivityOpenTelemetryData";

    /// <summary>Whether <paramref name="configuration"/> asks for OTLP export.</summary>
    public static bool IsEnabled(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[EndpointSetting]);

    /// <summary>
    /// The port whose <c>GET /metrics</c> answers Prometheus scrapes (<see cref="PrometheusPortSetting"/>), or null
    /// when there is none.
    /// </summary>
    /// <exception cref="InvalidOperationException">The setting is not a port number (the host does not start).</exception>
    public static int? PrometheusPort(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var value = configuration[PrometheusPortSetting];
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        return int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? port
            : throw new InvalidOperationException($"{PrometheusPortSetting} must be a port number from 1 to 65535.");
    }

    /// <summary>
    /// Adds tracing, metrics and logging through OpenTelemetry with OTLP export when the endpoint is configured, and
    /// metrics for Prometheus to scrape when <see cref="PrometheusPortSetting"/> is set.
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
        var otlp = IsEnabled(builder.Configuration);
        var prometheus = PrometheusPort(builder.Configuration) is not null;
        if (!otlp && !prometheus)
        {
            return false;
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithMetrics(metrics =>
            {
                metrics
                    .AddMeter([.. meters, PollyMeter, .. AspNetCoreMeters])
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation();
                if (prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        if (!otlp)
        {
            return true;
        }

        // ASP.NET Core 10 puts the HTTP semantic-convention attributes (method, route, status, …) on its own request
        // activity when this switch is off (the default from ASP.NET Core 11). Reading the activity source directly
        // costs a request far less than OpenTelemetry's instrumentation package, which subscribes to every hosting
        // diagnostic event and wraps the pipeline in a middleware of its own.
        AppContext.SetSwitch(AspNetCoreActivityDataSwitch, false);

        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            // Scopes carry request paths and whatever callers put in them; messages are written to be safe, scopes are not.
            logging.IncludeScopes = false;
        });

        telemetry
            .WithTracing(tracing => tracing
                .AddSource([.. activitySources, AspNetCoreSource])
                .AddHttpClientInstrumentation()
                .AddProcessor(new UrlRedactionProcessor()))
            .WithLogging()
            .UseOtlpExporter();
        return true;
    }

    /// <summary>
    /// Completes each request span with what ASP.NET Core 10 puts only on its metrics: the route template
    /// (<c>http.route</c>, which names the span "POST /v1/checks/"), the response status, the protocol version and,
    /// for a 5xx, <c>error.type</c>; and answers Prometheus at <c>GET /metrics</c> on its own port, which serves
    /// nothing else (404), while <c>/metrics</c> on any other port is not an endpoint at all. Call it straight after
    /// <c>Build()</c>: routing has chosen the endpoint by then.
    /// </summary>
    /// <param name="app">The application, whose routing runs before its own middleware.</param>
    public static void UseServiceTelemetry(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (PrometheusPort(app.Configuration) is { } port)
        {
            app.UseOpenTelemetryPrometheusScrapingEndpoint(context => context.Connection.LocalPort == port && context.Request.Path == MetricsPath);
            app.Use((context, next) =>
            {
                if (context.Connection.LocalPort != port)
                {
                    return next(context);
                }

                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        }

        if (IsEnabled(app.Configuration))
        {
            app.Use(CompleteRequestSpan);
        }
    }

    private static Task CompleteRequestSpan(HttpContext context, RequestDelegate next)
    {
        if (context.Features.Get<IHttpActivityFeature>()?.Activity is not { IsAllDataRequested: true } activity)
        {
            return next(context);
        }

        if (context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } route })
        {
            activity.SetTag("http.route", route);
        }

        activity.SetTag("network.protocol.version", context.Request.Protocol switch
        {
            "HTTP/1.1" => "1.1",
            "HTTP/2" => "2",
            "HTTP/3" => "3",
            "HTTP/1.0" => "1.0",
            _ => null,
        });
        return AfterResponse(context, next, activity);

        static async Task AfterResponse(HttpContext context, RequestDelegate next, System.Diagnostics.Activity activity)
        {
            await next(context);
            var status = context.Response.StatusCode;
            activity.SetTag("http.response.status_code", status);
            if (status >= 500)
            {
                activity.SetTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                activity.SetStatus(System.Diagnostics.ActivityStatusCode.Error);
            }
        }
    }
}
