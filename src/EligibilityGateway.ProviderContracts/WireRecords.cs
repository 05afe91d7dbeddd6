using System.Globalization;
using System.Text.Json.Serialization;

namespace EligibilityGateway.ProviderContracts;

// Request and response bodies of contracts/providers/{dwp,hmrc,home-office}.openapi.json, field for field, with the
// schema names of the documents. README.md beside this file says how strictly each side reads them.

/// <summary>
/// DWP <c>CitizenMatchRequest</c> and HMRC <c>TaxCreditsLookupRequest</c>: the same three facts. Personal data: a
/// POST body only. <see cref="DateOfBirth"/> is the contract's <c>yyyy-MM-dd</c> string.
/// </summary>
public sealed record NationalInsuranceLookupRequest(string NationalInsuranceNumber, string LastName, string DateOfBirth)
{
    /// <summary>The body for a person known by National Insurance number.</summary>
    public static NationalInsuranceLookupRequest For(string nationalInsuranceNumber, string lastName, DateOnly dateOfBirth) =>
        new(nationalInsuranceNumber, lastName, WireDate.Format(dateOfBirth));
}

/// <summary>Home Office <c>AsylumSupportLookupRequest</c>. Personal data: a POST body only.</summary>
public sealed record AsylumSupportLookupRequest(string NationalAsylumSeekerServiceNumber, string LastName, string DateOfBirth)
{
    /// <summary>The body for a person known by NASS number.</summary>
    public static AsylumSupportLookupRequest For(string nationalAsylumSeekerServiceNumber, string lastName, DateOnly dateOfBirth) =>
        new(nationalAsylumSeekerServiceNumber, lastName, WireDate.Format(dateOfBirth));
}

/// <summary>DWP <c>CitizenMatchResponse</c>: an opaque id, which still must not reach a log or a trace.</summary>
public sealed record CitizenMatchResponse(Guid CitizenId);

/// <summary>DWP <c>ClaimsResponse</c>.</summary>
public sealed record ClaimsResponse(Guid CitizenId, IReadOnlyList<BenefitClaim> Claims);

/// <summary>DWP <c>BenefitClaim</c>; <see cref="UniversalCredit"/> is set for Universal Credit claims only.</summary>
public sealed record BenefitClaim(BenefitType BenefitType, ClaimStatus Status, DateOnly StartDate, DateOnly? EndDate, UniversalCreditDetails? UniversalCredit);

/// <summary>DWP <c>UniversalCreditDetails</c>: take-home pay (net earned income) per monthly assessment period, latest first, at most three.</summary>
public sealed record UniversalCreditDetails(IReadOnlyList<AssessmentPeriod> AssessmentPeriods);

/// <summary>DWP <c>AssessmentPeriod</c>; <see cref="TakeHomePay"/> is net earned income in pounds.</summary>
public sealed record AssessmentPeriod(DateOnly StartDate, DateOnly EndDate, decimal TakeHomePay);

/// <summary>DWP <c>BenefitType</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BenefitType>))]
public enum BenefitType
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

/// <summary>DWP <c>ClaimStatus</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ClaimStatus>))]
public enum ClaimStatus
{
    [JsonStringEnumMemberName("in-payment")]
    InPayment,

    [JsonStringEnumMemberName("suspended")]
    Suspended,

    [JsonStringEnumMemberName("ended")]
    Ended,
}

/// <summary>HMRC <c>TaxCreditsResponse</c>; <see cref="AnnualHouseholdIncome"/> is as assessed for tax credits, in pounds.</summary>
public sealed record TaxCreditsResponse(string TaxYear, decimal AnnualHouseholdIncome, IReadOnlyList<TaxCreditAward> Awards);

/// <summary>HMRC <c>TaxCreditAward</c>.</summary>
public sealed record TaxCreditAward(TaxCreditType Type, AwardStatus Status, DateOnly StartDate, DateOnly? EndDate);

/// <summary>HMRC <c>TaxCreditType</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TaxCreditType>))]
public enum TaxCreditType
{
    [JsonStringEnumMemberName("child-tax-credit")]
    ChildTaxCredit,

    [JsonStringEnumMemberName("working-tax-credit")]
    WorkingTaxCredit,
}

/// <summary>HMRC <c>AwardStatus</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AwardStatus>))]
public enum AwardStatus
{
    [JsonStringEnumMemberName("in-payment")]
    InPayment,

    [JsonStringEnumMemberName("ended")]
    Ended,
}

/// <summary>Home Office <c>AsylumSupportResponse</c>: periods of support, latest first.</summary>
public sealed record AsylumSupportResponse(IReadOnlyList<AsylumSupport> Support);

/// <summary>Home Office <c>AsylumSupport</c>: one period of support.</summary>
public sealed record AsylumSupport(SupportSection Section, SupportStatus Status, DateOnly StartDate, DateOnly? EndDate);

/// <summary>The Immigration and Asylum Act 1999 section the support is given under.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SupportSection>))]
public enum SupportSection
{
    /// <summary>s.95 (Part VI): support for destitute asylum seekers.</summary>
    [JsonStringEnumMemberName("section-95")]
    Section95,

    /// <summary>s.98 (Part VI): temporary support while a s.95 application is considered.</summary>
    [JsonStringEnumMemberName("section-98")]
    Section98,

    /// <summary>s.4 (Part I, not Part VI): accommodation for refused asylum seekers who cannot yet leave the UK.</summary>
    [JsonStringEnumMemberName("section-4")]
    Section4,
}

/// <summary>Home Office <c>SupportStatus</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SupportStatus>))]
public enum SupportStatus
{
    [JsonStringEnumMemberName("active")]
    Active,

    [JsonStringEnumMemberName("ceased")]
    Ceased,
}

/// <summary>The contract's <c>format: date</c> (RFC 3339 full-date) for request bodies.</summary>
public static class WireDate
{
    /// <summary>The one accepted spelling.</summary>
    public const string Pattern = "yyyy-MM-dd";

    /// <summary><paramref name="date"/> as <c>yyyy-MM-dd</c>, whatever the culture.</summary>
    public static string Format(DateOnly date) => date.ToString(Pattern, CultureInfo.InvariantCulture);

    /// <summary>Reads exactly <c>yyyy-MM-dd</c> and a real calendar date; nothing else.</summary>
    public static bool TryParse(string? text, out DateOnly date) =>
        DateOnly.TryParseExact(text, Pattern, CultureInfo.InvariantCulture, DateTimeStyles.None, out date);
}
