using EligibilityGateway.ProviderContracts;

namespace MockCentralGovernment.Population;

/// <summary>
/// The sandbox fixtures, which the sandbox walkthrough and the tests rely on. Their data is fixed here;
/// the synthetic population never reuses their identifiers.
/// </summary>
internal static class Fixtures
{
    /// <summary>The tax year HMRC's records describe.</summary>
    public const string TaxYear = "2026-27";

    /// <summary>Smith: DWP, Universal Credit in payment with take-home pay well under the £616.67 a period (£7,400 a year) free-school-meals limit.</summary>
    public static PopulationMember Smith { get; } = Dwp(
        new DwpCitizen(
            Guid.Parse("3f6b1c2e-8d4a-4e7b-9a51-2c0d7e9f1a01"),
            "AB123456C",
            "Smith",
            new DateOnly(1990, 1, 1),
            [
                new BenefitClaim(
                    BenefitType.UniversalCredit,
                    ClaimStatus.InPayment,
                    new DateOnly(2023, 4, 12),
                    null,
                    new UniversalCreditDetails(
                    [
                        new AssessmentPeriod(new DateOnly(2026, 9, 12), new DateOnly(2026, 10, 11), 405.00m),
                        new AssessmentPeriod(new DateOnly(2026, 8, 12), new DateOnly(2026, 9, 11), 398.20m),
                        new AssessmentPeriod(new DateOnly(2026, 7, 12), new DateOnly(2026, 8, 11), 412.50m),
                    ])),
            ]));

    /// <summary>
    /// Jones: known to DWP with no qualifying benefit (a Universal Credit claim that ended in 2023), and to HMRC
    /// with Child Tax Credit but household income above £16,190.
    /// </summary>
    public static PopulationMember Jones { get; } = new(
        "CE234567A",
        null,
        "Jones",
        new DateOnly(1985, 5, 15),
        new DwpCitizen(
            Guid.Parse("8a27e4d9-51c3-4f60-b8e2-6d94a0c3b702"),
            "CE234567A",
            "Jones",
            new DateOnly(1985, 5, 15),
            [
                new BenefitClaim(
                    BenefitType.UniversalCredit,
                    ClaimStatus.Ended,
                    new DateOnly(2021, 2, 3),
                    new DateOnly(2023, 6, 30),
                    new UniversalCreditDetails(
                    [
                        new AssessmentPeriod(new DateOnly(2023, 6, 3), new DateOnly(2023, 7, 2), 2150.00m),
                        new AssessmentPeriod(new DateOnly(2023, 5, 3), new DateOnly(2023, 6, 2), 2098.40m),
                        new AssessmentPeriod(new DateOnly(2023, 4, 3), new DateOnly(2023, 5, 2), 2120.75m),
                    ])),
            ]),
        new TaxCreditsRecord(
            "CE234567A",
            "Jones",
            new DateOnly(1985, 5, 15),
            TaxYear,
            24850.00m,
            [new TaxCreditAward(TaxCreditType.ChildTaxCredit, AwardStatus.InPayment, new DateOnly(2026, 4, 6), null)]),
        null);

    /// <summary>Taylor: HMRC only — Child Tax Credit, household income under £16,190, no Working Tax Credit.</summary>
    public static PopulationMember Taylor { get; } = new(
        "EH345678B",
        null,
        "Taylor",
        new DateOnly(1978, 11, 30),
        null,
        new TaxCreditsRecord(
            "EH345678B",
            "Taylor",
            new DateOnly(1978, 11, 30),
            TaxYear,
            14200.00m,
            [new TaxCreditAward(TaxCreditType.ChildTaxCredit, AwardStatus.InPayment, new DateOnly(2026, 4, 6), null)]),
        null);

    /// <summary>Brown: known to nobody. Listed so that the synthetic population never takes the NI number.</summary>
    public static PopulationMember Brown { get; } = new("JK456789C", null, "Brown", new DateOnly(1992, 2, 29), null, null, null);

    /// <summary>Khan: Home Office, section 95 support (after section 98 support while it was considered).</summary>
    public static PopulationMember Khan { get; } = new(
        null,
        "240712349",
        "Khan",
        new DateOnly(1990, 1, 1),
        null,
        null,
        new AsylumSupportRecord(
            "240712349",
            "Khan",
            new DateOnly(1990, 1, 1),
            [
                new AsylumSupport(SupportSection.Section95, SupportStatus.Active, new DateOnly(2024, 8, 21), null),
                new AsylumSupport(SupportSection.Section98, SupportStatus.Ceased, new DateOnly(2024, 7, 15), new DateOnly(2024, 8, 20)),
            ]));

    public static IReadOnlyList<PopulationMember> All { get; } = [Smith, Jones, Taylor, Brown, Khan];

    private static PopulationMember Dwp(DwpCitizen citizen) =>
        new(citizen.NationalInsuranceNumber, null, citizen.LastName, citizen.DateOfBirth, citizen, null, null);
}
