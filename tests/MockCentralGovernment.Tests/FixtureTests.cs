using System.Net;
using System.Text.Json;

namespace MockCentralGovernment.Tests;

/// <summary>Each named fixture is answered by the provider that holds it, with that data, and by nobody else.</summary>
public sealed class FixtureTests(MockGovernmentFixture mock) : IClassFixture<MockGovernmentFixture>
{
    private const decimal FreeSchoolMealsIncomeLimit = 16_190m;

    // £7,400 a year of net earned income, assessed over up to three monthly periods.
    private const decimal UniversalCreditPeriodLimit = 616.67m;

    private readonly HttpClient _dwp = mock.Client(MockGovernmentFixture.DwpCredential);
    private readonly HttpClient _hmrc = mock.Client(MockGovernmentFixture.HmrcCredential);
    private readonly HttpClient _homeOffice = mock.Client(MockGovernmentFixture.HomeOfficeCredential);

    [Fact]
    public async Task Smith_IsMatchedByDwp_WithUniversalCreditInPaymentAndLowEarnings()
    {
        var citizenId = await _dwp.MatchedCitizenIdAsync("AB123456C", "Smith", "1990-01-01");
        using var response = await _dwp.ClaimsAsync(citizenId);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.JsonAsync();
        body.GetProperty("citizenId").GetString().Should().Be(citizenId);
        var claim = body.GetProperty("claims").EnumerateArray().Should().ContainSingle().Subject;
        claim.GetProperty("benefitType").GetString().Should().Be("universal-credit");
        claim.GetProperty("status").GetString().Should().Be("in-payment");
        claim.GetProperty("endDate").ValueKind.Should().Be(JsonValueKind.Null);
        var periods = claim.GetProperty("universalCredit").GetProperty("assessmentPeriods").EnumerateArray().ToList();
        periods.Should().HaveCount(3);
        periods.Select(p => p.GetProperty("takeHomePay").GetDecimal()).Should().OnlyContain(pay => pay > 0 && pay <= UniversalCreditPeriodLimit);
    }

    [Fact]
    public async Task Smith_IsUnknownToHmrc()
    {
        using var response = await _hmrc.TaxCreditsAsync("AB123456C", "Smith", "1990-01-01");

        await ShouldBeNoMatchAsync(response);
    }

    [Fact]
    public async Task Jones_IsMatchedByDwp_WithNoClaimInPayment()
    {
        var citizenId = await _dwp.MatchedCitizenIdAsync("CE234567A", "Jones", "1985-05-15");
        using var response = await _dwp.ClaimsAsync(citizenId);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var claims = (await response.JsonAsync()).GetProperty("claims").EnumerateArray().ToList();
        claims.Should().NotBeEmpty();
        claims.Should().OnlyContain(c => c.GetProperty("status").GetString() == "ended" && c.GetProperty("endDate").ValueKind == JsonValueKind.String);
    }

    [Fact]
    public async Task Jones_IsMatchedByHmrc_WithIncomeAboveTheThreshold()
    {
        using var response = await _hmrc.TaxCreditsAsync("CE234567A", "Jones", "1985-05-15");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.JsonAsync();
        body.GetProperty("annualHouseholdIncome").GetDecimal().Should().BeGreaterThan(FreeSchoolMealsIncomeLimit);
    }

    [Fact]
    public async Task Taylor_IsMatchedByHmrc_WithChildTaxCreditLowIncomeAndNoWorkingTaxCredit()
    {
        using var response = await _hmrc.TaxCreditsAsync("EH345678B", "Taylor", "1978-11-30");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.JsonAsync();
        body.GetProperty("taxYear").GetString().Should().Be("2026-27");
        body.GetProperty("annualHouseholdIncome").GetDecimal().Should().BeLessThan(FreeSchoolMealsIncomeLimit);
        var awards = body.GetProperty("awards").EnumerateArray().ToList();
        awards.Should().ContainSingle(a => a.GetProperty("type").GetString() == "child-tax-credit" && a.GetProperty("status").GetString() == "in-payment");
        awards.Should().NotContain(a => a.GetProperty("type").GetString() == "working-tax-credit");
    }

    [Fact]
    public async Task Taylor_IsUnknownToDwp()
    {
        using var response = await _dwp.MatchCitizenAsync("EH345678B", "Taylor", "1978-11-30");

        await ShouldBeNoMatchAsync(response);
    }

    [Fact]
    public async Task Brown_IsUnknownToDwpAndHmrc()
    {
        using var dwp = await _dwp.MatchCitizenAsync("JK456789C", "Brown", "1992-02-29");
        using var hmrc = await _hmrc.TaxCreditsAsync("JK456789C", "Brown", "1992-02-29");

        await ShouldBeNoMatchAsync(dwp);
        await ShouldBeNoMatchAsync(hmrc);
    }

    [Fact]
    public async Task Khan_IsMatchedByTheHomeOffice_WithActiveSection95Support()
    {
        using var response = await _homeOffice.AsylumSupportAsync("240712349", "Khan", "1990-01-01");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var support = (await response.JsonAsync()).GetProperty("support").EnumerateArray().ToList();
        support.Should().Contain(s => s.GetProperty("section").GetString() == "section-95" && s.GetProperty("status").GetString() == "active");
    }

    [Fact]
    public async Task HomeOffice_WhenAskedForSomeoneWithoutSupport_SaysNoMatch()
    {
        using var response = await _homeOffice.AsylumSupportAsync("240712350", "Khan", "1990-01-01");

        await ShouldBeNoMatchAsync(response);
    }

    [Theory]
    [InlineData("SMITH")]
    [InlineData("smith")]
    [InlineData("sMiTh")]
    [InlineData("  Smith  ")]
    public async Task Match_WhenSurnameDiffersOnlyInCase_FindsSmith(string lastName)
    {
        var citizenId = await _dwp.MatchedCitizenIdAsync("AB123456C", lastName, "1990-01-01");

        citizenId.Should().Be(mock.Population.Fixtures.Single(f => f.LastName == "Smith").Dwp!.CitizenId.ToString());
    }

    [Fact]
    public async Task Lookup_WhenSurnameDiffersOnlyInCase_FindsTaylorAndKhan()
    {
        using var hmrc = await _hmrc.TaxCreditsAsync("EH345678B", "TAYLOR", "1978-11-30");
        using var homeOffice = await _homeOffice.AsylumSupportAsync("240712349", "kHAN", "1990-01-01");

        hmrc.StatusCode.Should().Be(HttpStatusCode.OK);
        homeOffice.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("ab123456c")]
    [InlineData("AB 12 34 56 C")]
    [InlineData("  ab 123456 c ")]
    public async Task Match_WhenNationalInsuranceNumberIsWrittenLoosely_NormalisesItAndFindsSmith(string ni)
    {
        using var response = await _dwp.MatchCitizenAsync(ni, "Smith", "1990-01-01");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("Smyth", "1990-01-01")]
    [InlineData("Smith", "1990-01-02")]
    [InlineData("Smith-Jones", "1990-01-01")]
    public async Task Match_WhenSurnameOrDateOfBirthIsWrong_DoesNotMatchSmith(string lastName, string dateOfBirth)
    {
        using var response = await _dwp.MatchCitizenAsync("AB123456C", lastName, dateOfBirth);

        await ShouldBeNoMatchAsync(response);
    }

    [Fact]
    public async Task Lookup_WhenSurnameOrDateOfBirthIsWrong_DoesNotMatchTaylorOrKhan()
    {
        using var hmrcName = await _hmrc.TaxCreditsAsync("EH345678B", "Tailor", "1978-11-30");
        using var hmrcDate = await _hmrc.TaxCreditsAsync("EH345678B", "Taylor", "1978-11-29");
        using var homeOfficeName = await _homeOffice.AsylumSupportAsync("240712349", "Kahn", "1990-01-01");
        using var homeOfficeDate = await _homeOffice.AsylumSupportAsync("240712349", "Khan", "1991-01-01");

        foreach (var response in new[] { hmrcName, hmrcDate, homeOfficeName, homeOfficeDate })
        {
            await ShouldBeNoMatchAsync(response);
        }
    }

    [Fact]
    public async Task Match_WhenOnlySurnameIsWrong_AnswersExactlyAsForAnUnknownIdentifier()
    {
        using var wrongSurname = await _dwp.MatchCitizenAsync("AB123456C", "Smyth", "1990-01-01");
        using var unknown = await _dwp.MatchCitizenAsync("AB999999A", "Smyth", "1990-01-01");

        var a = await wrongSurname.JsonAsync();
        var b = await unknown.JsonAsync();
        wrongSurname.StatusCode.Should().Be(unknown.StatusCode);
        foreach (var member in new[] { "type", "title", "status", "detail" })
        {
            a.GetProperty(member).GetRawText().Should().Be(b.GetProperty(member).GetRawText(), "the answer must not reveal that {0} exists", "the identifier");
        }
    }

    [Fact]
    public async Task Claims_WhenCitizenIdIsUnknownOrNotAUuid_AreNotFound()
    {
        using var unknown = await _dwp.ClaimsAsync(Guid.NewGuid().ToString());
        using var malformed = await _dwp.ClaimsAsync("AB123456C");

        foreach (var response in new[] { unknown, malformed })
        {
            response.StatusCode.Should().Be(HttpStatusCode.NotFound);
            (await response.JsonAsync()).GetProperty("type").GetString().Should().Be("urn:mock-central-government:problem:unknown-citizen");
        }
    }

    private static async Task ShouldBeNoMatchAsync(HttpResponseMessage response)
    {
        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.JsonAsync()).GetProperty("type").GetString().Should().Be("urn:mock-central-government:problem:no-match");
    }
}
