using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using MockCentralGovernment.Population;
using EligibilityGateway.ProviderContracts;

namespace MockCentralGovernment.Tests;

/// <summary>A deterministic, seeded synthetic population of at least 10,000 people, all of whom can be matched.</summary>
public sealed partial class PopulationTests(MockGovernmentFixture mock) : IClassFixture<MockGovernmentFixture>
{
    private const long DefaultSeed = 20261122;

    [Fact]
    public void Population_ByDefault_HasAtLeastTenThousandSyntheticPeopleBesideTheFixtures()
    {
        mock.Population.Synthetic.Should().HaveCountGreaterThanOrEqualTo(10_000);
        mock.Population.Fixtures.Select(f => f.LastName).Should().Equal("Smith", "Jones", "Taylor", "Brown", "Khan");
    }

    [Fact]
    public void Population_WithTheSameSeed_IsIdenticalEveryTime()
    {
        var first = JsonSerializer.Serialize(PopulationStore.Create(DefaultSeed, 10_000).Synthetic);
        var second = JsonSerializer.Serialize(PopulationStore.Create(DefaultSeed, 10_000).Synthetic);

        second.Should().Be(first);
        JsonSerializer.Serialize(mock.Population.Synthetic).Should().Be(first);
    }

    [Fact]
    public void Population_WithAnotherSeed_IsDifferent()
    {
        var a = PopulationStore.Create(DefaultSeed, 100).Synthetic.Select(p => p.NationalInsuranceNumber ?? p.NationalAsylumSeekerServiceNumber);
        var b = PopulationStore.Create(DefaultSeed + 1, 100).Synthetic.Select(p => p.NationalInsuranceNumber ?? p.NationalAsylumSeekerServiceNumber);

        b.Should().NotEqual(a);
    }

    [Fact]
    public void Population_FromTheDefaultSeed_StillHoldsThePinnedPeople()
    {
        // Pinned so that a change to the generator (or to the order of its draws) is a visible, deliberate decision:
        // sandbox walkthroughs, benchmarks and bug reports refer to these people.
        var people = PopulationStore.Create(DefaultSeed, 10_000).Synthetic;

        Describe(people[0]).Should().Be("MX049974D|Taylor|1948-04-22|dwp:77c88600-09bd-488a-b635-c247865ab563");
        Describe(people[1]).Should().Be("AB780704A|Fisher|1955-02-21|hmrc:49203.29");
        Describe(people[2]).Should().Be("NS974109D|Owen|2007-12-10|dwp:ab7db36a-40ca-42bf-adac-2e01cb112be6");
        Describe(people[12]).Should().Be("481001168|Patel|2002-10-03|home-office:Section4");
        Describe(people[9_999]).Should().Be("SZ678251C|Hughes|1945-02-17|hmrc:21998.03");
    }

    [Fact]
    public void Population_Identifiers_AreValidUniqueAndNeverAFixtures()
    {
        var synthetic = mock.Population.Synthetic;
        var fixtureIdentifiers = mock.Population.Fixtures
            .SelectMany(f => new[] { f.NationalInsuranceNumber, f.NationalAsylumSeekerServiceNumber })
            .OfType<string>()
            .ToHashSet();
        var ni = synthetic.Select(p => p.NationalInsuranceNumber).OfType<string>().ToList();
        var nass = synthetic.Select(p => p.NationalAsylumSeekerServiceNumber).OfType<string>().ToList();

        synthetic.Should().OnlyContain(p => (p.NationalInsuranceNumber == null) != (p.NationalAsylumSeekerServiceNumber == null));
        ni.Should().OnlyContain(n => NationalInsuranceNumber().IsMatch(n) && !DisallowedPrefixes.Contains(n.Substring(0, 2)));
        nass.Should().OnlyContain(n => NassNumber().IsMatch(n));
        ni.Concat(nass).Should().OnlyHaveUniqueItems().And.NotContain(fixtureIdentifiers);
    }

    [Fact]
    public void Population_IsSpreadOverAllThreeProviders_AndEveryoneIsHeldSomewhere()
    {
        var synthetic = mock.Population.Synthetic;

        synthetic.Should().OnlyContain(p => p.Dwp != null || p.Hmrc != null || p.HomeOffice != null);
        synthetic.Count(p => p.Dwp != null).Should().BeGreaterThan(1_000);
        synthetic.Count(p => p.Hmrc != null).Should().BeGreaterThan(1_000);
        synthetic.Count(p => p.HomeOffice != null).Should().BeGreaterThan(500);
        synthetic.Count(p => p.Dwp != null && p.Hmrc != null).Should().BeGreaterThan(100, "some people are known to both DWP and HMRC");
        synthetic.SelectMany(p => p.Dwp?.Claims ?? []).Select(c => c.BenefitType).Distinct().Should().HaveCount(5);
    }

    [Fact]
    public async Task Population_EverySeededPerson_IsMatchedByEachProviderThatHoldsThem()
    {
        var dwp = mock.Client(MockGovernmentFixture.DwpCredential);
        var hmrc = mock.Client(MockGovernmentFixture.HmrcCredential);
        var homeOffice = mock.Client(MockGovernmentFixture.HomeOfficeCredential);
        var misses = new System.Collections.Concurrent.ConcurrentBag<string>();

        await Parallel.ForEachAsync(mock.Population.Synthetic, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (person, _) =>
        {
            var dateOfBirth = person.DateOfBirth.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            if (person.Dwp is { } citizen)
            {
                using var response = await dwp.MatchCitizenAsync(person.NationalInsuranceNumber!, person.LastName.ToUpperInvariant(), dateOfBirth);
                if (response.StatusCode != HttpStatusCode.OK || (await response.JsonAsync()).GetProperty("citizenId").GetGuid() != citizen.CitizenId)
                {
                    misses.Add($"DWP {person.NationalInsuranceNumber}");
                }
            }

            if (person.Hmrc is { } record)
            {
                using var response = await hmrc.TaxCreditsAsync(person.NationalInsuranceNumber!, person.LastName, dateOfBirth);
                if (response.StatusCode != HttpStatusCode.OK || (await response.JsonAsync()).GetProperty("annualHouseholdIncome").GetDecimal() != record.AnnualHouseholdIncome)
                {
                    misses.Add($"HMRC {person.NationalInsuranceNumber}");
                }
            }

            if (person.HomeOffice is not null)
            {
                using var response = await homeOffice.AsylumSupportAsync(person.NationalAsylumSeekerServiceNumber!, person.LastName.ToLowerInvariant(), dateOfBirth);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    misses.Add($"Home Office {person.NationalAsylumSeekerServiceNumber}");
                }
            }
        });

        misses.Should().BeEmpty();
    }

    [Fact]
    public async Task Population_ClaimsOfSeededCitizens_ConformToTheContract()
    {
        // The contract check runs in the client; a sample across the population covers every benefit type and status.
        var dwp = mock.Client(MockGovernmentFixture.DwpCredential);
        foreach (var citizen in mock.Population.Synthetic.Select(p => p.Dwp).OfType<DwpCitizen>().Take(300))
        {
            using var response = await dwp.ClaimsAsync(citizen.CitizenId.ToString());
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }
    }

    private static readonly HashSet<string> DisallowedPrefixes = ["BG", "GB", "NK", "KN", "TN", "NT", "ZZ"];

    private static string Describe(PopulationMember person)
    {
        var held = person.Dwp is { } dwp ? $"dwp:{dwp.CitizenId}"
            : person.Hmrc is { } hmrc ? $"hmrc:{hmrc.AnnualHouseholdIncome}"
            : $"home-office:{person.HomeOffice!.Support[0].Section}";
        return $"{person.NationalInsuranceNumber ?? person.NationalAsylumSeekerServiceNumber}|{person.LastName}|{person.DateOfBirth:yyyy-MM-dd}|{held}";
    }

    // The NI number rule, written out independently of the mock's own validator.
    [GeneratedRegex("^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$")]
    private static partial Regex NationalInsuranceNumber();

    [GeneratedRegex("^[0-9]{2}(0[1-9]|1[0-2])[0-9]{5,6}$")]
    private static partial Regex NassNumber();
}
