using System.Text.Json.Serialization;

namespace MockCentralGovernment.Population;

// What each provider holds about a person. The claim, award and support records are also the wire shapes
// (see contracts/providers/*.openapi.json), so a change here is a contract change.

/// <summary>A citizen as DWP knows them: matched by NI number, surname and date of birth; claims read by <see cref="CitizenId"/>.</summary>
internal sealed record DwpCitizen(Guid CitizenId, string NationalInsuranceNumber, string LastName, DateOnly DateOfBirth, IReadOnlyList<BenefitClaim> Claims);

internal sealed record BenefitClaim(
    BenefitType BenefitType,
    ClaimStatus Status,
    DateOnly StartDate,
    DateOnly? EndDate,
    UniversalCreditDetails? UniversalCredit);

/// <summary>Universal Credit earnings: take-home pay (net earned income) per monthly assessment period, latest first.</summary>
internal sealed record UniversalCreditDetails(IReadOnlyList<AssessmentPeriod> AssessmentPeriods);

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

/// <summary>A person as HMRC's tax-credits system knows them, for one tax year.</summary>
internal sealed record TaxCreditsRecord(string NationalInsuranceNumber, string LastName, DateOnly DateOfBirth, string TaxYear, decimal AnnualHouseholdIncome, IReadOnlyList<TaxCreditAward> Awards);

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

/// <summary>A person as the Home Office's asylum-support system knows them, keyed by NASS number.</summary>
internal sealed record AsylumSupportRecord(string NationalAsylumSeekerServiceNumber, string LastName, DateOnly DateOfBirth, IReadOnlyList<AsylumSupport> Support);

/// <summary>One period of support under Part VI of the Immigration and Asylum Act 1999.</summary>
internal sealed record AsylumSupport(SupportSection Section, SupportStatus Status, DateOnly StartDate, DateOnly? EndDate);

[JsonConverter(typeof(JsonStringEnumConverter<SupportSection>))]
internal enum SupportSection
{
    /// <summary>s.95: support for asylum seekers who appear destitute.</summary>
    [JsonStringEnumMemberName("section-95")]
    Section95,

    /// <summary>s.98: temporary support while a s.95 application is considered.</summary>
    [JsonStringEnumMemberName("section-98")]
    Section98,

    /// <summary>s.4: support for failed asylum seekers who cannot yet leave the UK.</summary>
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

/// <summary>One person of the population, with the identifiers a caller would present, and who holds them.</summary>
internal sealed record PopulationMember(
    string? NationalInsuranceNumber,
    string? NationalAsylumSeekerServiceNumber,
    string LastName,
    DateOnly DateOfBirth,
    DwpCitizen? Dwp,
    TaxCreditsRecord? Hmrc,
    AsylumSupportRecord? HomeOffice);
