using System.Text.Json;
using System.Text.Json.Serialization;

namespace EligibilityGateway.Providers;

// Request and response bodies of contracts/providers/{dwp,hmrc,home-office}.openapi.json, field for field.
// Deserialisation is strict where the gateway relies on a value — a required field missing or null, or an enum
// value the contract does not list, makes the response "malformed" (a failure, never a "no") — and tolerant of
// extra members, so that a provider adding a field does not take the gateway down.

/// <summary>DWP <c>CitizenMatchRequest</c> and HMRC <c>TaxCreditsLookupRequest</c>. Personal data: request bodies only.</summary>
internal sealed record NationalInsuranceLookupRequest(string NationalInsuranceNumber, string LastName, DateOnly DateOfBirth);

/// <summary>Home Office <c>AsylumSupportLookupRequest</c>. Personal data: request bodies only.</summary>
internal sealed record AsylumSupportLookupRequest(string NationalAsylumSeekerServiceNumber, string LastName, DateOnly DateOfBirth);

/// <summary>DWP <c>CitizenMatchResponse</c>: an opaque id, which still must not reach a log or a trace.</summary>
internal sealed record CitizenMatchResponse(Guid CitizenId);

/// <summary>DWP <c>ClaimsResponse</c>.</summary>
internal sealed record ClaimsResponse(Guid CitizenId, IReadOnlyList<BenefitClaim> Claims);

/// <summary>DWP <c>BenefitClaim</c>; <see cref="UniversalCredit"/> is set for Universal Credit claims only.</summary>
internal sealed record BenefitClaim(BenefitType BenefitType, ClaimStatus Status, DateOnly StartDate, DateOnly? EndDate, UniversalCreditDetails? UniversalCredit);

/// <summary>DWP <c>UniversalCreditDetails</c>: up to the three latest monthly assessment periods, latest first.</summary>
internal sealed record UniversalCreditDetails(IReadOnlyList<AssessmentPeriod> AssessmentPeriods);

/// <summary>DWP <c>AssessmentPeriod</c>; <see cref="TakeHomePay"/> is net earned income in pounds.</summary>
internal sealed record AssessmentPeriod(DateOnly StartDate, DateOnly EndDate, decimal TakeHomePay);

[JsonConverter(typeof(JsonStringEnumConverter<BenefitType>))]
internal enum BenefitType
{
    [JsonStringEnumMemberName("universal-credit")]
    UniversalCredit,

    [JsonStringEnumMemberName("jobseekers-allowance-income-based")]
    JobseekersAllowanceIncomeBased,

    [JsonStringEnumMemberName("employment-and-support-allowance-income-related")]
    EmploymentAndSupportAllowanceIncomeRelated,

    [JsonStringEnumMemberName("income-support")]
    IncomeSupport,

    [JsonStringEnumMemberName("pension-credit")]
    PensionCredit,
}

[JsonConverter(typeof(JsonStringEnumConverter<ClaimStatus>))]
internal enum ClaimStatus
{
    [JsonStringEnumMemberName("in-payment")]
    InPayment,

    [JsonStringEnumMemberName("suspended")]
    Suspended,

    [JsonStringEnumMemberName("ended")]
    Ended,
}

/// <summary>HMRC <c>TaxCreditsResponse</c>; <see cref="AnnualHouseholdIncome"/> is as assessed for tax credits, in pounds.</summary>
internal sealed record TaxCreditsResponse(string TaxYear, decimal AnnualHouseholdIncome, IReadOnlyList<TaxCreditAward> Awards);

/// <summary>HMRC <c>TaxCreditAward</c>.</summary>
internal sealed record TaxCreditAward(TaxCreditType Type, AwardStatus Status, DateOnly StartDate, DateOnly? EndDate);

[JsonConverter(typeof(JsonStringEnumConverter<TaxCreditType>))]
internal enum TaxCreditType
{
    [JsonStringEnumMemberName("child-tax-credit")]
    ChildTaxCredit,

    [JsonStringEnumMemberName("working-tax-credit")]
    WorkingTaxCredit,
}

[JsonConverter(typeof(JsonStringEnumConverter<AwardStatus>))]
internal enum AwardStatus
{
    [JsonStringEnumMemberName("in-payment")]
    InPayment,

    [JsonStringEnumMemberName("ended")]
    Ended,
}

/// <summary>Home Office <c>AsylumSupportResponse</c>: periods of support, latest first.</summary>
internal sealed record AsylumSupportResponse(IReadOnlyList<AsylumSupport> Support);

/// <summary>Home Office <c>AsylumSupport</c>.</summary>
internal sealed record AsylumSupport(SupportSection Section, SupportStatus Status, DateOnly StartDate, DateOnly? EndDate);

/// <summary>The Immigration and Asylum Act 1999 section the support is given under.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SupportSection>))]
internal enum SupportSection
{
    /// <summary>s.95 (Part VI): support for destitute asylum seekers.</summary>
    [JsonStringEnumMemberName("section-95")]
    Section95,

    /// <summary>s.98 (Part VI): temporary support while a s.95 application is considered.</summary>
    [JsonStringEnumMemberName("section-98")]
    Section98,

    /// <summary>s.4 (Part I, not Part VI): accommodation for refused asylum seekers.</summary>
    [JsonStringEnumMemberName("section-4")]
    Section4,
}

[JsonConverter(typeof(JsonStringEnumConverter<SupportStatus>))]
internal enum SupportStatus
{
    [JsonStringEnumMemberName("active")]
    Active,

    [JsonStringEnumMemberName("ceased")]
    Ceased,
}

/// <summary>The one member of an RFC 9457 problem the clients read: its <c>type</c>, to tell "no match" from a wrong route.</summary>
internal sealed record ProblemType(string? Type);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    NumberHandling = JsonNumberHandling.Strict,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(NationalInsuranceLookupRequest))]
[JsonSerializable(typeof(AsylumSupportLookupRequest))]
[JsonSerializable(typeof(CitizenMatchResponse))]
[JsonSerializable(typeof(ClaimsResponse))]
[JsonSerializable(typeof(TaxCreditsResponse))]
[JsonSerializable(typeof(AsylumSupportResponse))]
[JsonSerializable(typeof(ProblemType))]
internal sealed partial class ProviderJsonContext : JsonSerializerContext;
