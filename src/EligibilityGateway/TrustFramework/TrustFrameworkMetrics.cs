using System.Diagnostics.Metrics;
using EligibilityGateway.Telemetry;

namespace EligibilityGateway.TrustFramework;

/// <summary>Counters for trust framework reloads on the gateway's meter.</summary>
internal sealed class TrustFrameworkMetrics
{
    public const string ReloadsName = "eligibility_gateway.trust_framework.reloads";
    public const string ReloadFailuresName = "eligibility_gateway.trust_framework.reload_failures";

    private readonly Counter<long> reloads;
    private readonly Counter<long> reloadFailures;

    public TrustFrameworkMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(GatewayTelemetry.MeterName);
        reloads = meter.CreateCounter<long>(ReloadsName, unit: "{reload}", description: "Changed trust framework files loaded and put in force.");
        reloadFailures = meter.CreateCounter<long>(ReloadFailuresName, unit: "{reload}", description: "Changed trust framework files refused; the last good framework stayed in force.");
    }

    public void Reloaded() => reloads.Add(1);

    public void ReloadFailed() => reloadFailures.Add(1);
}
