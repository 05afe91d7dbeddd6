using System.Text.Json;
using System.Text.Json.Serialization;
using MockCentralGovernment.Faults;

namespace MockCentralGovernment.Providers;

// The control API's bodies (contracts/providers/control.openapi.json). The providers' own bodies are the wire records of
// src/EligibilityGateway.ProviderContracts; ProviderRequests says how the mock reads them.

/// <summary>One provider's fault settings as the control API shows them.</summary>
internal sealed record ProviderFaultSettings(
    string Provider,
    int LatencyMilliseconds,
    int JitterMilliseconds,
    double ErrorRate,
    double TimeoutRate,
    int TimeoutHoldMilliseconds,
    bool Outage)
{
    public static ProviderFaultSettings From(ProviderKind provider, FaultSettings settings) => new(
        provider.Slug(),
        settings.LatencyMilliseconds,
        settings.JitterMilliseconds,
        settings.ErrorRate,
        settings.TimeoutRate,
        settings.TimeoutHoldMilliseconds,
        settings.Outage);
}

internal sealed record ProviderFaultSettingsList(IReadOnlyList<ProviderFaultSettings> Providers);

/// <summary>The body of PUT (absent fields take their defaults) and PATCH (absent or null fields stay as they are).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record FaultSettingsChange(
    int? LatencyMilliseconds,
    int? JitterMilliseconds,
    double? ErrorRate,
    double? TimeoutRate,
    int? TimeoutHoldMilliseconds,
    bool? Outage);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.Strict,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    AllowTrailingCommas = false)]
[JsonSerializable(typeof(ProviderFaultSettings))]
[JsonSerializable(typeof(ProviderFaultSettingsList))]
[JsonSerializable(typeof(FaultSettingsChange))]
[JsonSerializable(typeof(RecordedCallList))]
[JsonSerializable(typeof(ProviderConcurrencyList))]
internal sealed partial class MockJsonContext : JsonSerializerContext;
