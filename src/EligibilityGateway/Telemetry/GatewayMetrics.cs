using System.Diagnostics.Metrics;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Providers;
using Polly.CircuitBreaker;

namespace EligibilityGateway.Telemetry;

/// <summary>
/// Checks, provider calls and issued tokens on the gateway's meter (README.md). Tags name councils, clients, schemes,
/// providers and fixed vocabularies (outcome, status, reason); never a person, a case reference or an id of a record.
/// </summary>
internal sealed class GatewayMetrics
{
    public const string ChecksName = "eligibility_gateway.checks";
    public const string ProviderCallDurationName = "eligibility_gateway.provider.call.duration";
    public const string TokensIssuedName = "eligibility_gateway.tokens.issued";
    public const string CircuitStateName = "eligibility_gateway.provider.circuit.state";

    private static readonly (CircuitState State, string Name)[] CircuitStates =
        [(CircuitState.Closed, "closed"), (CircuitState.Open, "open"), (CircuitState.HalfOpen, "half-open"), (CircuitState.Isolated, "isolated")];

    private readonly Counter<long> checks;
    private readonly Histogram<double> providerCallDuration;
    private readonly Counter<long> tokensIssued;

    public GatewayMetrics(IMeterFactory meterFactory, ProviderCircuits circuits)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(circuits);
        var meter = meterFactory.Create(GatewayTelemetry.MeterName);
        checks = meter.CreateCounter<long>(ChecksName, unit: "{check}", description: "Checks recorded, by council, scheme and decision; allowed checks also by outcome and where the answer came from (cache or live).");
        providerCallDuration = meter.CreateHistogram<double>(ProviderCallDurationName, unit: "s", description: "Provider calls by provider, status (eligible, not-eligible, not-found, failed) and failure reason; calls never made (no identifier the provider holds) are not counted.");
        tokensIssued = meter.CreateCounter<long>(TokensIssuedName, unit: "{token}", description: "Access tokens issued and recorded, by grant type and client.");
        meter.CreateObservableGauge(
            CircuitStateName,
            () => ObserveCircuits(circuits),
            unit: "{circuit}",
            description: "Each provider's circuit breaker: 1 for the state it is in (closed, open, half-open, isolated), 0 for the others.");
    }

    private static IEnumerable<Measurement<int>> ObserveCircuits(ProviderCircuits circuits)
    {
        foreach (var (provider, current) in circuits.GetStates())
        {
            foreach (var (state, name) in CircuitStates)
            {
                yield return new Measurement<int>(
                    state == current ? 1 : 0,
                    new KeyValuePair<string, object?>("provider", provider),
                    new KeyValuePair<string, object?>("state", name));
            }
        }
    }

    public void CheckAllowed(string councilId, string schemeId, Outcome outcome, string servedFrom) =>
        checks.Add(
            1,
            new KeyValuePair<string, object?>("council", councilId),
            new KeyValuePair<string, object?>("scheme", schemeId),
            new KeyValuePair<string, object?>("decision", AuditDecisions.Allow),
            new KeyValuePair<string, object?>("outcome", outcome.ToName()),
            new KeyValuePair<string, object?>("served_from", servedFrom));

    public void CheckDenied(string councilId, string schemeId, string rule) =>
        checks.Add(
            1,
            new KeyValuePair<string, object?>("council", councilId),
            new KeyValuePair<string, object?>("scheme", schemeId),
            new KeyValuePair<string, object?>("decision", AuditDecisions.Deny),
            new KeyValuePair<string, object?>("rule", rule));

    public void ProviderAnswered(ProviderCall call)
    {
        if (call.Latency <= TimeSpan.Zero && call.Status != ProviderCallStatus.Failed)
        {
            return; // not asked: the provider cannot know the person by the identifier given
        }

        providerCallDuration.Record(
            call.Latency.TotalSeconds,
            new KeyValuePair<string, object?>("provider", call.ProviderId),
            new KeyValuePair<string, object?>("status", AuditRecordFormat.StatusName(call.Status)),
            new KeyValuePair<string, object?>("reason", call.FailureReason ?? "none"));
    }

    public void TokenIssued(string grantType, string clientId) =>
        tokensIssued.Add(1, new KeyValuePair<string, object?>("grant_type", grantType), new KeyValuePair<string, object?>("client", clientId));
}
