using System.Globalization;
using EligibilityGateway.ProviderContracts;

namespace MockCentralGovernment.Population;

/// <summary>
/// Generates the seeded synthetic population: everyone is known to at least one provider, identifiers are valid
/// (the gateway's rules for NI numbers, the NASS pattern for asylum seekers) and unique, and none is a fixture's.
/// Every draw comes from one <see cref="SplitMix64"/> in a fixed order, so a seed always yields the same people.
/// </summary>
internal static class SyntheticPopulation
{
    /// <summary>The records are a snapshot as at this date, so they do not drift with the clock.</summary>
    public static readonly DateOnly AsAt = new(2026, 10, 31);

    // NI prefixes: first letter not D F I Q U V; second not D F I O Q U V; prefix not BG GB NK KN TN NT ZZ.
    private const string FirstLetters = "ABCEGHJKLMNOPRSTWXYZ";
    private const string SecondLetters = "ABCEGHJKLMNPRSTWXYZ";
    private static readonly HashSet<string> DisallowedPrefixes = new(StringComparer.Ordinal) { "BG", "GB", "NK", "KN", "TN", "NT", "ZZ" };

    // Common surnames in England and Wales, with a few that exercise apostrophes, hyphens and non-ASCII letters.
    private static readonly string[] Surnames =
    [
        "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
        "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green", "Hall",
        "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill",
        "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen",
        "James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young", "Griffiths",
        "Mitchell", "Kelly", "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy",
        "Miller", "Cox", "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh",
        "Begum", "Wilkinson", "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali",
        "Hussain", "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd",
        "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey", "Ahmed",
        "O'Brien", "O'Connor", "Smith-Jones", "Ní Bhriain", "Nowak", "Kowalczyk", "Nguyen", "Okafor", "Mensah", "Müller",
    ];

    public static IReadOnlyList<PopulationMember> Generate(long seed, int size, IEnumerable<string> reservedIdentifiers)
    {
        var random = new SplitMix64(unchecked((ulong)seed));
        var taken = new HashSet<string>(reservedIdentifiers, StringComparer.Ordinal);
        var people = new List<PopulationMember>(size);
        for (var i = 0; i < size; i++)
        {
            var lastName = random.Pick(Surnames);
            var dateOfBirth = random.NextDate(new DateOnly(1940, 1, 1), new DateOnly(2007, 12, 31));

            // About one in ten is an asylum seeker known only to the Home Office, by NASS number.
            if (random.Percent(10))
            {
                var nass = Unique(random, taken, NextNassNumber);
                people.Add(new PopulationMember(null, nass, lastName, dateOfBirth, null, null, NextAsylumSupport(random, nass, lastName, dateOfBirth)));
                continue;
            }

            var ni = Unique(random, taken, NextNationalInsuranceNumber);
            var heldByDwp = random.Percent(65);
            var heldByHmrc = random.Percent(35);
            if (!heldByDwp && !heldByHmrc)
            {
                // Everyone generated can be matched somewhere; "known to nobody" is Brown's job.
                heldByDwp = true;
            }

            var dwp = heldByDwp ? NextDwpCitizen(random, ni, lastName, dateOfBirth) : null;
            var hmrc = heldByHmrc ? NextTaxCredits(random, ni, lastName, dateOfBirth) : null;
            people.Add(new PopulationMember(ni, null, lastName, dateOfBirth, dwp, hmrc, null));
        }

        return people;
    }

    private static string Unique(SplitMix64 random, HashSet<string> taken, Func<SplitMix64, string> next)
    {
        while (true)
        {
            var candidate = next(random);
            if (taken.Add(candidate))
            {
                return candidate;
            }
        }
    }

    internal static string NextNationalInsuranceNumber(SplitMix64 random)
    {
        string prefix;
        do
        {
            prefix = string.Concat(FirstLetters[random.Next(FirstLetters.Length)], SecondLetters[random.Next(SecondLetters.Length)]);
        }
        while (DisallowedPrefixes.Contains(prefix));

        return string.Create(CultureInfo.InvariantCulture, $"{prefix}{random.Next(1_000_000):D6}{(char)('A' + random.Next(4))}");
    }

    internal static string NextNassNumber(SplitMix64 random)
    {
        var year = random.Next(100);
        var month = random.Next(1, 13);
        var serial = random.Percent(50) ? random.Next(100_000).ToString("D5", CultureInfo.InvariantCulture) : random.Next(1_000_000).ToString("D6", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture, $"{year:D2}{month:D2}{serial}");
    }

    private static DwpCitizen NextDwpCitizen(SplitMix64 random, string ni, string lastName, DateOnly dateOfBirth)
    {
        var pensionAge = dateOfBirth.AddYears(66) <= AsAt;
        var claimCount = random.Percent(20) ? 2 : 1;
        var claims = new List<BenefitClaim>(claimCount);
        for (var c = 0; c < claimCount; c++)
        {
            claims.Add(NextClaim(random, pensionAge));
        }

        return new DwpCitizen(random.NextGuid(), ni, lastName, dateOfBirth, claims);
    }

    private static BenefitClaim NextClaim(SplitMix64 random, bool pensionAge)
    {
        var roll = random.Next(100);
        var type = pensionAge
            ? BenefitType.PensionCredit
            : roll switch
            {
                < 60 => BenefitType.UniversalCredit,
                < 70 => BenefitType.JobseekersAllowanceIncomeBased,
                < 85 => BenefitType.EmploymentAndSupportAllowanceIncomeRelated,
                _ => BenefitType.IncomeSupport,
            };
        var statusRoll = random.Next(100);
        var status = statusRoll switch
        {
            < 70 => ClaimStatus.InPayment,
            < 80 => ClaimStatus.Suspended,
            _ => ClaimStatus.Ended,
        };
        var start = random.NextDate(new DateOnly(2018, 1, 1), AsAt.AddDays(-31));
        DateOnly? end = status == ClaimStatus.Ended ? random.NextDate(start.AddDays(30), AsAt) : null;
        var universalCredit = type == BenefitType.UniversalCredit ? NextEarnings(random, start, end ?? AsAt) : null;
        return new BenefitClaim(type, status, start, end, universalCredit);
    }

    /// <summary>Up to three monthly assessment periods that start on the claim's day of month and end by <paramref name="upTo"/>.</summary>
    private static UniversalCreditDetails NextEarnings(SplitMix64 random, DateOnly claimStart, DateOnly upTo)
    {
        var anchorDay = Math.Min(claimStart.Day, 28);
        var periodStart = new DateOnly(upTo.Year, upTo.Month, anchorDay);
        while (periodStart.AddMonths(1).AddDays(-1) > upTo)
        {
            periodStart = periodStart.AddMonths(-1);
        }

        var periods = new List<AssessmentPeriod>(3);
        while (periods.Count < 3 && periodStart >= claimStart)
        {
            var band = random.Next(100);
            var takeHomePay = band switch
            {
                < 40 => 0.00m,
                < 75 => random.NextPounds(1, 61_667),
                _ => random.NextPounds(61_667, 250_000),
            };
            periods.Add(new AssessmentPeriod(periodStart, periodStart.AddMonths(1).AddDays(-1), takeHomePay));
            periodStart = periodStart.AddMonths(-1);
        }

        return new UniversalCreditDetails(periods);
    }

    private static TaxCreditsRecord NextTaxCredits(SplitMix64 random, string ni, string lastName, DateOnly dateOfBirth)
    {
        var taxYearStart = new DateOnly(2026, 4, 6);
        var income = random.NextPounds(300_000, 6_000_000);
        var awards = new List<TaxCreditAward>(2);
        var childTaxCredit = random.Percent(85);
        var workingTaxCredit = random.Percent(40);
        if (!childTaxCredit && !workingTaxCredit)
        {
            childTaxCredit = true;
        }

        if (childTaxCredit)
        {
            awards.Add(NextAward(random, TaxCreditType.ChildTaxCredit, taxYearStart));
        }

        if (workingTaxCredit)
        {
            awards.Add(NextAward(random, TaxCreditType.WorkingTaxCredit, taxYearStart));
        }

        return new TaxCreditsRecord(ni, lastName, dateOfBirth, Fixtures.TaxYear, income, awards);
    }

    private static TaxCreditAward NextAward(SplitMix64 random, TaxCreditType type, DateOnly taxYearStart) =>
        random.Percent(90)
            ? new TaxCreditAward(type, AwardStatus.InPayment, taxYearStart, null)
            : new TaxCreditAward(type, AwardStatus.Ended, taxYearStart, random.NextDate(taxYearStart.AddDays(1), AsAt));

    private static AsylumSupportRecord NextAsylumSupport(SplitMix64 random, string nass, string lastName, DateOnly dateOfBirth)
    {
        var roll = random.Next(100);
        var section = roll switch
        {
            < 60 => SupportSection.Section95,
            < 70 => SupportSection.Section98,
            _ => SupportSection.Section4,
        };
        var start = random.NextDate(new DateOnly(2019, 1, 1), AsAt.AddDays(-1));
        var support = random.Percent(80)
            ? new AsylumSupport(section, SupportStatus.Active, start, null)
            : new AsylumSupport(section, SupportStatus.Ceased, start, random.NextDate(start.AddDays(1), AsAt));
        return new AsylumSupportRecord(nass, lastName, dateOfBirth, [support]);
    }
}
