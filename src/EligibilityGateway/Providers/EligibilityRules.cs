using EligibilityGateway.ProviderContracts;

namespace EligibilityGateway.Providers;

/// <summary>
/// The eligibility rules, as pure functions of what a provider returned. Each cites the rule it implements;
/// README.md in this folder sets out the sources and the choices made where a contract holds less than the law asks.
/// Every rule reads only awards that are in payment (or active) today, as the provider reports them.
/// </summary>
internal static class EligibilityRules
{
    /// <summary>£7,400 a year of net earned income as assessed over one, two and three assessment periods.</summary>
    /// <remarks>
    /// Free School Lunches and Milk (Universal Credit) (England) Order 2013 (SI 2013/650) art. 2, as amended by
    /// SI 2018/148: net earned income not above £616.67 in the latest assessment period, or £1,233.34 in the
    /// latest two together, or £1,850 in the latest three together. These are £7,400 × k / 12 for k periods, as
    /// published (616.67 and 2 × 616.67; 7,400 / 4 = 1,850 exactly). Comparing the sum of k periods with
    /// 7,400 × k / 12 is the same as comparing the sum annualised (× 12 / k) with £7,400, without rounding
    /// the annualised figure.
    /// </remarks>
    public static readonly IReadOnlyList<decimal> UniversalCreditEarningsThresholds = [616.67m, 1233.34m, 1850.00m];

    /// <summary>Education (Free School Lunches) (Prescribed Tax Credits) (England) Order 2003 (SI 2003/383) art. 3, as substituted by SI 2011/728.</summary>
    public const decimal TaxCreditsIncomeThreshold = 16_190m;

    /// <summary>
    /// <c>free-school-meals-benefits</c> (DWP). Education Act 1996 s.512ZB(4): income support, income-based JSA,
    /// income-related ESA, the guarantee credit of state pension credit (Education (Free School Lunches) (State
    /// Pension Credit) Order 2005, SI 2005/885), or Universal Credit within the earnings limit
    /// (<see cref="UniversalCreditWithinFreeSchoolMealsEarnings"/>).
    /// </summary>
    /// <remarks>
    /// The DWP contract has one <c>pension-credit</c> benefit type and does not say whether the guarantee or only
    /// the savings element is paid, so any Pension Credit in payment qualifies here. Savings credit alone is rare
    /// and closed to people reaching pension age since 2016.
    /// </remarks>
    public static bool FreeSchoolMealsBenefits(ClaimsResponse claims) => claims.Claims.Any(claim =>
        claim.Status == ClaimStatus.InPayment && claim.BenefitType switch
        {
            BenefitType.IncomeSupport => true,
            BenefitType.JobseekersAllowanceIncomeBased => true,
            BenefitType.EmploymentAndSupportAllowanceIncomeRelated => true,
            BenefitType.PensionCredit => true,
            BenefitType.UniversalCredit => UniversalCreditWithinFreeSchoolMealsEarnings(claim.UniversalCredit),
            _ => false,
        });

    /// <summary>
    /// True when net earned income is within <see cref="UniversalCreditEarningsThresholds"/> over the latest one, two
    /// or three assessment periods (any of them suffices, as the Order looks at each in turn).
    /// </summary>
    /// <remarks>
    /// A claim with no complete assessment period yet has no earnings on record: nil is within the limit. Periods
    /// are ordered latest first by end date here rather than trusting the order on the wire.
    /// </remarks>
    public static bool UniversalCreditWithinFreeSchoolMealsEarnings(UniversalCreditDetails? details)
    {
        var periods = (details?.AssessmentPeriods ?? []).OrderByDescending(p => p.EndDate).Take(UniversalCreditEarningsThresholds.Count).ToList();
        if (periods.Count == 0)
        {
            return true;
        }

        var total = 0m;
        for (var k = 0; k < periods.Count; k++)
        {
            total += periods[k].TakeHomePay;
            if (total <= UniversalCreditEarningsThresholds[k])
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// <c>free-school-meals-tax-credits</c> (HMRC). Education Act 1996 s.512ZB(4)(aa) with SI 2003/383: entitled to
    /// Child Tax Credit, not entitled to Working Tax Credit, and an award based on annual income not above £16,190.
    /// </summary>
    /// <remarks>
    /// The four-week Working Tax Credit run-on also qualifies in law (Education (Free School Lunches) (Working Tax
    /// Credit) (England) Order 2009, SI 2009/830), but the HMRC contract does not report it;
    /// a family in run-on shows an ended Working Tax Credit award and is judged on the rest of the rule.
    /// </remarks>
    public static bool FreeSchoolMealsTaxCredits(TaxCreditsResponse taxCredits) =>
        InPayment(taxCredits, TaxCreditType.ChildTaxCredit) &&
        !InPayment(taxCredits, TaxCreditType.WorkingTaxCredit) &&
        taxCredits.AnnualHouseholdIncome <= TaxCreditsIncomeThreshold;

    /// <summary>
    /// <c>asylum-support</c> (Home Office). Education Act 1996 s.512ZB(4)(a)(iii): support under Part 6 (VI) of
    /// the Immigration and Asylum Act 1999 — that is s.95 support and s.98 temporary support.
    /// </summary>
    /// <remarks>
    /// Section 4 support (for refused asylum seekers) is given under Part 1 of the 1999 Act, not Part 6, and so does
    /// not confer free school meals under s.512ZB; councils may still help such families under their own powers,
    /// which is a decision this check does not make. A person with only s.4 support is found, not eligible.
    /// </remarks>
    public static bool AsylumSupportUnderPartSix(AsylumSupportResponse support) => support.Support.Any(s =>
        s.Status == SupportStatus.Active && s.Section is SupportSection.Section95 or SupportSection.Section98);

    /// <summary>
    /// <c>council-tax-support-benefits</c> (DWP): Universal Credit, income-based JSA, income-related ESA, Income
    /// Support or Pension Credit in payment.
    /// </summary>
    /// <remarks>
    /// Local Government Finance Act 1992 s.13A(2) and Sch. 1A leave working-age reduction schemes to each council;
    /// the Council Tax Reduction Schemes (Prescribed Requirements) (England) Regulations 2012 (SI 2012/2885) set
    /// the pensioner scheme, where the guarantee credit gives the maximum reduction. These are the benefits that
    /// councils' schemes commonly treat as proof of low income ("passported"); a council's scheme then sets the
    /// amount. Universal Credit qualifies whatever the earnings — the reduction, not the entitlement, depends on them.
    /// </remarks>
    public static bool CouncilTaxSupportBenefits(ClaimsResponse claims) =>
        claims.Claims.Any(claim => claim.Status == ClaimStatus.InPayment && claim.BenefitType is
            BenefitType.UniversalCredit or
            BenefitType.JobseekersAllowanceIncomeBased or
            BenefitType.EmploymentAndSupportAllowanceIncomeRelated or
            BenefitType.IncomeSupport or
            BenefitType.PensionCredit);

    /// <summary>
    /// <c>council-tax-support-income</c> (HMRC): a tax credit (Child or Working) in payment and annual household income
    /// as assessed for tax credits not above £16,190.
    /// </summary>
    /// <remarks>
    /// No statute sets an HMRC income test for council tax support; this screening rule reuses the free-school-meals
    /// income threshold, a published, regularly applied marker of low income, and a tax-credit award, which shows
    /// HMRC assessed that income this tax year. A council's own scheme makes the final award.
    /// </remarks>
    public static bool CouncilTaxSupportIncome(TaxCreditsResponse taxCredits) =>
        taxCredits.Awards.Any(a => a.Status == AwardStatus.InPayment) &&
        taxCredits.AnnualHouseholdIncome <= TaxCreditsIncomeThreshold;

    private static bool InPayment(TaxCreditsResponse taxCredits, TaxCreditType type) =>
        taxCredits.Awards.Any(a => a.Type == type && a.Status == AwardStatus.InPayment);
}
