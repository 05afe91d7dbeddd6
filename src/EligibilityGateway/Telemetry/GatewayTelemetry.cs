using System.Diagnostics;
using EligibilityGateway.Providers;
using EligibilityGateway.ServiceDefaults;

namespace EligibilityGateway.Telemetry;

/// <summary>The gateway's names in OpenTelemetry, and its wiring (README.md).</summary>
internal static class GatewayTelemetry
{
    /// <summary>The <c>service.name</c> the gateway reports as.</summary>
    public const string ServiceName = "eligibility-gateway";

    /// <summary>The meter every gateway metric is on.</summary>
    public const string MeterName = "EligibilityGateway";

    /// <summary>Spans of the check path: policy, cache lookup, audit append.</summary>
    public static readonly ActivitySource ActivitySource = new("EligibilityGateway");

    /// <summary>Traces, metrics and logs over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set; nothing otherwise.</summary>
    public static bool AddGatewayTelemetry(this IHostApplicationBuilder builder) =>
        builder.AddServiceTelemetry(ServiceName, [ActivitySource.Name, SchemeEvaluator.ActivitySource.Name], [MeterName]);
}
