using System.Diagnostics.Metrics;
using EligibilityGateway.Telemetry;

namespace EligibilityGateway.Audit;

/// <summary>Audit append latency and group-commit behaviour on the gateway's meter (see README.md).</summary>
internal sealed class AuditMetrics
{
    public const string AppendDurationName = "eligibility_gateway.audit.append.duration";
    public const string BatchSizeName = "eligibility_gateway.audit.batch.size";

    private static readonly KeyValuePair<string, object?> CommittedTag = new("result", "committed");
    private static readonly KeyValuePair<string, object?> FailedTag = new("result", "failed");

    private readonly Histogram<double> appendDuration;
    private readonly Histogram<int> batchSize;

    public AuditMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(GatewayTelemetry.MeterName);
        appendDuration = meter.CreateHistogram<double>(AppendDurationName, unit: "s", description: "From an audit entry being queued to its commit (or failure) being reported to the caller.");
        batchSize = meter.CreateHistogram<int>(BatchSizeName, unit: "{record}", description: "Records committed per audit transaction (group commit).");
    }

    public void Appended(TimeSpan duration, bool committed) =>
        appendDuration.Record(duration.TotalSeconds, committed ? CommittedTag : FailedTag);

    public void Committed(int records) => batchSize.Record(records);
}
