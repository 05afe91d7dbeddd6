using System.Text.Json;
using System.Text.Json.Serialization;
using MockCentralGovernment.Faults;
using MockCentralGovernment.Population;

namespace MockCentralGovernment.Providers;

// Request and response bodies of contracts/providers/*.openapi.json. Request fields are strings (or nullable
// numbers) so that a value of the wrong type is reported against its field rather than failing the whole body.

/// <summary>DWP <c>CitizenMatchRequest</c> and HMRC <c>TaxCreditsLookupRequest</c>: the same three facts.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record NationalInsuranceLookupRequest(string? NationalInsuranceNumber, string? LastName, string? DateOfBirth);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record AsylumSupportLookupRequest(string? NationalAsylumSeekerServiceNumber, string? LastName, string? DateOfBirth);

internal sealed record CitizenMatchResponse(Guid CitizenId);

internal sealed record ClaimsResponse(Guid CitizenId, IReadOnlyList<BenefitClaim> Claims);

internal sealed record TaxCreditsResponse(string TaxYear, decimal AnnualHouseholdIncome, IReadOnlyList<TaxCreditAward> Awards);

internal sealed record AsylumSupportResponse(IReadOnlyList<AsylumSupport> Support);

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
[JsonSerializable(typeof(NationalInsuranceLookupRequest))]
[JsonSerializable(typeof(AsylumSupportLookupRequest))]
[JsonSerializable(typeof(CitizenMatchResponse))]
[JsonSerializable(typeof(ClaimsResponse))]
[JsonSerializable(typeof(TaxCreditsResponse))]
[JsonSerializable(typeof(AsylumSupportResponse))]
[JsonSerializable(typeof(ProviderFaultSettings))]
[JsonSerializable(typeof(ProviderFaultSettingsList))]
[JsonSerializable(typeof(FaultSettingsChange))]
internal sealed partial class MockJsonContext : JsonSerializerContext;
