using EligibilityGateway.Providers;
using EligibilityGateway.ProviderContracts;

namespace EligibilityGateway.Tests.Providers;

/// <summary>Each rule of <see cref="EligibilityRules"/> at its edges, with data shaped as the contracts describe.</summary>
public sealed class EligibilityRulesTests
{
    private static readonly DateOnly Start = new(2024, 4, 1);

    [Theory]
    [InlineData(nameof(BenefitType.IncomeSupport))]
    [InlineData(nameof(BenefitType.JobseekersAllowanceIncomeBased))]
    [InlineData(nameof(BenefitType.EmploymentAndSupportAllowanceIncomeRelated))]
    [InlineData(nameof(BenefitType.PensionCredit))]
    public void FreeSchoolMealsBenefits_WithPassportBenefitInPayment_IsEligible(string benefitName)
    {
        var benefit = Enum.Parse<BenefitType>(benefitName);

        EligibilityRules.FreeSchoolMealsBenefits(Claims(Claim(benefit, ClaimStatus.InPayment))).Should().BeTrue();
    }

    [Theory]
    [InlineData(nameof(ClaimStatus.Suspended))]
    [InlineData(nameof(ClaimStatus.Ended))]
    public void FreeSchoolMealsBenefits_WithPassportBenefitNotInPayment_IsNotEligible(string statusName)
    {
        var status = Enum.Parse<ClaimStatus>(statusName);

        EligibilityRules.FreeSchoolMealsBenefits(Claims(Claim(BenefitType.IncomeSupport, status))).Should().BeFalse();
    }

    [Fact]
    public void FreeSchoolMealsBenefits_WithNoClaims_IsNotEligible()
    {
        EligibilityRules.FreeSchoolMealsBenefits(Claims()).Should().BeFalse();
    }

    [Theory]
    // One period: £616.67 is the limit (7,400 / 12 to the penny).
    [InlineData(true, 616.67)]
    [InlineData(false, 616.68)]
    // Two periods: the latest alone is over, but the two together are within £1,233.34.
    [InlineData(true, 700.00, 533.34)]
    [InlineData(false, 700.00, 533.35)]
    // Three periods: within £1,850 together although the latest one and the latest two are over.
    [InlineData(true, 700.00, 600.00, 550.00)]
    [InlineData(false, 700.00, 600.00, 550.01)]
    // Smith's fixture.
    [InlineData(true, 405.00, 398.20, 412.50)]
    // A low latest period qualifies whatever came before it.
    [InlineData(true, 100.00, 5000.00, 5000.00)]
    public void UniversalCreditEarnings_OverLatestOneTwoOrThreePeriods_AreComparedWithTheAnnualLimit(bool eligible, params double[] latestFirst)
    {
        var details = new UniversalCreditDetails(latestFirst.Select((pay, i) => Period(i, (decimal)pay)).ToList());

        EligibilityRules.UniversalCreditWithinFreeSchoolMealsEarnings(details).Should().Be(eligible);
    }

    [Fact]
    public void UniversalCreditEarnings_ArrivingOldestFirst_AreStillReadLatestFirst()
    {
        // Latest 100 (within 616.67 alone); if read in wire order the oldest 5,000 would come first and fail all three.
        var details = new UniversalCreditDetails([Period(2, 5000m), Period(1, 5000m), Period(0, 100m)]);

        EligibilityRules.UniversalCreditWithinFreeSchoolMealsEarnings(details).Should().BeTrue();
    }

    [Fact]
    public void UniversalCreditEarnings_WithMoreThanThreePeriods_LookOnlyAtTheLatestThree()
    {
        var details = new UniversalCreditDetails([Period(0, 700m), Period(1, 600m), Period(2, 600m), Period(3, 0m)]);

        EligibilityRules.UniversalCreditWithinFreeSchoolMealsEarnings(details).Should().BeFalse();
    }

    [Fact]
    public void UniversalCreditEarnings_WithNoCompletePeriodYet_AreNilAndWithinTheLimit()
    {
        EligibilityRules.UniversalCreditWithinFreeSchoolMealsEarnings(new UniversalCreditDetails([])).Should().BeTrue();
    }

    [Fact]
    public void FreeSchoolMealsBenefits_WithUniversalCreditOverTheEarningsLimit_IsNotEligible()
    {
        var claim = Claim(BenefitType.UniversalCredit, ClaimStatus.InPayment) with
        {
            UniversalCredit = new UniversalCreditDetails([Period(0, 2000m), Period(1, 2000m), Period(2, 2000m)]),
        };

        EligibilityRules.FreeSchoolMealsBenefits(Claims(claim)).Should().BeFalse();
        EligibilityRules.CouncilTaxSupportBenefits(Claims(claim)).Should().BeTrue("council tax support passports Universal Credit whatever the earnings");
    }

    [Theory]
    [InlineData(true, 16190.00)]
    [InlineData(false, 16190.01)]
    public void FreeSchoolMealsTaxCredits_WithChildTaxCreditOnly_DependsOnIncomeUpTo16190(bool eligible, double income)
    {
        var taxCredits = TaxCredits((decimal)income, Award(TaxCreditType.ChildTaxCredit, AwardStatus.InPayment));

        EligibilityRules.FreeSchoolMealsTaxCredits(taxCredits).Should().Be(eligible);
    }

    [Fact]
    public void FreeSchoolMealsTaxCredits_WithWorkingTaxCreditInPayment_IsNotEligible()
    {
        var taxCredits = TaxCredits(10_000m, Award(TaxCreditType.ChildTaxCredit, AwardStatus.InPayment), Award(TaxCreditType.WorkingTaxCredit, AwardStatus.InPayment));

        EligibilityRules.FreeSchoolMealsTaxCredits(taxCredits).Should().BeFalse();
    }

    [Fact]
    public void FreeSchoolMealsTaxCredits_WithWorkingTaxCreditEnded_IsEligible()
    {
        var taxCredits = TaxCredits(10_000m, Award(TaxCreditType.ChildTaxCredit, AwardStatus.InPayment), Award(TaxCreditType.WorkingTaxCredit, AwardStatus.Ended));

        EligibilityRules.FreeSchoolMealsTaxCredits(taxCredits).Should().BeTrue();
    }

    [Fact]
    public void FreeSchoolMealsTaxCredits_WithChildTaxCreditEnded_IsNotEligible()
    {
        EligibilityRules.FreeSchoolMealsTaxCredits(TaxCredits(10_000m, Award(TaxCreditType.ChildTaxCredit, AwardStatus.Ended))).Should().BeFalse();
    }

    [Theory]
    [InlineData(nameof(SupportSection.Section95), nameof(SupportStatus.Active), true)]
    [InlineData(nameof(SupportSection.Section98), nameof(SupportStatus.Active), true)]
    [InlineData(nameof(SupportSection.Section4), nameof(SupportStatus.Active), false)]
    [InlineData(nameof(SupportSection.Section95), nameof(SupportStatus.Ceased), false)]
    public void AsylumSupport_QualifiesOnlyForActivePartSixSupport(string sectionName, string statusName, bool eligible)
    {
        var section = Enum.Parse<SupportSection>(sectionName);
        var status = Enum.Parse<SupportStatus>(statusName);

        var support = new AsylumSupportResponse([new AsylumSupport(section, status, Start, status == SupportStatus.Ceased ? Start.AddMonths(2) : null)]);

        EligibilityRules.AsylumSupportUnderPartSix(support).Should().Be(eligible);
    }

    [Theory]
    [InlineData(nameof(BenefitType.UniversalCredit))]
    [InlineData(nameof(BenefitType.JobseekersAllowanceIncomeBased))]
    [InlineData(nameof(BenefitType.EmploymentAndSupportAllowanceIncomeRelated))]
    [InlineData(nameof(BenefitType.IncomeSupport))]
    [InlineData(nameof(BenefitType.PensionCredit))]
    public void CouncilTaxSupportBenefits_WithQualifyingBenefitInPayment_IsEligible(string benefitName)
    {
        var benefit = Enum.Parse<BenefitType>(benefitName);

        EligibilityRules.CouncilTaxSupportBenefits(Claims(Claim(benefit, ClaimStatus.InPayment))).Should().BeTrue();
        EligibilityRules.CouncilTaxSupportBenefits(Claims(Claim(benefit, ClaimStatus.Ended))).Should().BeFalse();
    }

    [Theory]
    [InlineData(nameof(TaxCreditType.ChildTaxCredit), nameof(AwardStatus.InPayment), 16190.00, true)]
    [InlineData(nameof(TaxCreditType.WorkingTaxCredit), nameof(AwardStatus.InPayment), 12000.00, true)]
    [InlineData(nameof(TaxCreditType.ChildTaxCredit), nameof(AwardStatus.InPayment), 16190.01, false)]
    [InlineData(nameof(TaxCreditType.ChildTaxCredit), nameof(AwardStatus.Ended), 9000.00, false)]
    public void CouncilTaxSupportIncome_NeedsATaxCreditInPaymentAndLowIncome(string typeName, string statusName, double income, bool eligible)
    {
        var type = Enum.Parse<TaxCreditType>(typeName);
        var status = Enum.Parse<AwardStatus>(statusName);

        EligibilityRules.CouncilTaxSupportIncome(TaxCredits((decimal)income, Award(type, status))).Should().Be(eligible);
    }

    private static ClaimsResponse Claims(params BenefitClaim[] claims) => new(Guid.Parse("00000000-0000-4000-8000-000000000001"), claims);

    private static BenefitClaim Claim(BenefitType type, ClaimStatus status) => new(
        type,
        status,
        Start,
        status == ClaimStatus.Ended ? Start.AddYears(1) : null,
        type == BenefitType.UniversalCredit ? new UniversalCreditDetails([Period(0, 0m)]) : null);

    /// <summary>The assessment period <paramref name="monthsAgo"/> months before the latest.</summary>
    private static AssessmentPeriod Period(int monthsAgo, decimal pay)
    {
        var start = new DateOnly(2026, 9, 12).AddMonths(-monthsAgo);
        return new AssessmentPeriod(start, start.AddMonths(1).AddDays(-1), pay);
    }

    private static TaxCreditsResponse TaxCredits(decimal income, params TaxCreditAward[] awards) => new("2026-27", income, awards);

    private static TaxCreditAward Award(TaxCreditType type, AwardStatus status) =>
        new(type, status, new DateOnly(2026, 4, 6), status == AwardStatus.Ended ? new DateOnly(2026, 8, 1) : null);
}
