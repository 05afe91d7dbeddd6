using System.Text.Json;
using System.Text.Json.Serialization;

namespace EligibilityGateway.ProviderContracts;

/// <summary>
/// Source-generated JSON metadata for every wire record (README.md, "Rules"): web naming (camelCase, matched exactly),
/// strict numbers, nullable annotations and required constructor parameters respected; extra members ignored.
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNameCaseInsensitive = false,
    NumberHandling = JsonNumberHandling.Strict,
    ReadCommentHandling = JsonCommentHandling.Disallow,
    AllowTrailingCommas = false,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(NationalInsuranceLookupRequest))]
[JsonSerializable(typeof(AsylumSupportLookupRequest))]
[JsonSerializable(typeof(CitizenMatchResponse))]
[JsonSerializable(typeof(ClaimsResponse))]
[JsonSerializable(typeof(TaxCreditsResponse))]
[JsonSerializable(typeof(AsylumSupportResponse))]
[JsonSerializable(typeof(ProviderProblem))]
public sealed partial class ProviderJsonContext : JsonSerializerContext;
