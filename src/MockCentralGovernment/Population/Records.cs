using EligibilityGateway.ProviderContracts;

namespace MockCentralGovernment.Population;

// What each provider holds about a person. The claims, awards and support periods are the wire records of
// src/EligibilityGateway.ProviderContracts, served as they are held.

/// <summary>A citizen as DWP knows them: matched by NI number, surname and date of birth; claims read by <see cref="CitizenId"/>.</summary>
internal sealed record DwpCitizen(Guid CitizenId, string NationalInsuranceNumber, string LastName, DateOnly DateOfBirth, IReadOnlyList<BenefitClaim> Claims);

/// <summary>A person as HMRC's tax-credits system knows them, for one tax year.</summary>
internal sealed record TaxCreditsRecord(string NationalInsuranceNumber, string LastName, DateOnly DateOfBirth, string TaxYear, decimal AnnualHouseholdIncome, IReadOnlyList<TaxCreditAward> Awards);

/// <summary>A person as the Home Office's asylum-support system knows them, keyed by NASS number.</summary>
internal sealed record AsylumSupportRecord(string NationalAsylumSeekerServiceNumber, string LastName, DateOnly DateOfBirth, IReadOnlyList<AsylumSupport> Support);

/// <summary>One person of the population, with the identifiers a caller would present, and who holds them.</summary>
internal sealed record PopulationMember(
    string? NationalInsuranceNumber,
    string? NationalAsylumSeekerServiceNumber,
    string LastName,
    DateOnly DateOfBirth,
    DwpCitizen? Dwp,
    TaxCreditsRecord? Hmrc,
    AsylumSupportRecord? HomeOffice);
