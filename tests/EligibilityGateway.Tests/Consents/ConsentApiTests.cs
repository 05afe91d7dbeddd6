using System.Net;
using System.Text.Json;
using EligibilityGateway.Audit;

namespace EligibilityGateway.Tests.Consents;

/// <summary><c>POST</c>, <c>GET</c> and <c>DELETE /v1/consents</c> through real HTTP (Consents/README.md).</summary>
public sealed class ConsentApiTests(ConsentGateway gateway) : IClassFixture<ConsentGateway>
{
    [Fact]
    public async Task Create_AnswersCreatedWithLocationAndTheConsentAwaitingAuthorisation()
    {
        var now = gateway.Clock.GetUtcNow();
        using var response = await gateway.SendAsync(
            HttpMethod.Post, "/v1/consents", await gateway.TokenAsync(), """{"scheme":"free-school-meals","caseReference":"FSM-2026-000123"}""");

        response.StatusCode.Should().Be(HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        var consent = await Json.ReadAsync(response);
        var consentId = consent.GetProperty("consentId").GetString()!;
        Guid.TryParseExact(consentId, "D", out _).Should().BeTrue();
        response.Headers.Location!.ToString().Should().Be($"/v1/consents/{consentId}");
        consent.GetProperty("status").GetString().Should().Be("awaiting-authorisation");
        consent.GetProperty("council").GetString().Should().Be("leeds");
        consent.GetProperty("scheme").GetString().Should().Be("free-school-meals");
        consent.GetProperty("purpose").GetString().Should().NotBeNullOrEmpty();
        consent.GetProperty("lawfulBasis").GetString().Should().Be("consent");
        consent.GetProperty("providers").EnumerateArray().Select(p => p.GetString()).Should().BeEquivalentTo("dwp", "hmrc", "home-office");
        consent.GetProperty("released").EnumerateArray().Select(p => p.GetString()).Should().Equal("outcome");
        consent.GetProperty("caseReference").GetString().Should().Be("FSM-2026-000123");
        consent.GetProperty("createdAt").GetDateTimeOffset().Should().BeCloseTo(now, TimeSpan.FromSeconds(1));
        consent.GetProperty("expiresAt").GetDateTimeOffset().Should().Be(consent.GetProperty("createdAt").GetDateTimeOffset().AddDays(90), "the scheme's max_consent_duration is P90D and no expiry was asked for");
        consent.GetProperty("usageCount").GetInt64().Should().Be(0);
        consent.GetProperty("authorisedAt").ValueKind.Should().Be(JsonValueKind.Null);

        var read = await gateway.GetConsentAsync(consentId);
        read.GetRawText().Should().Be(consent.GetRawText(), "the Location names the same consent");

        var audit = await gateway.AuditAsync(consentId);
        audit.Should().ContainSingle().Which.Should().Match<AuditEntry>(e =>
            e.EventType == AuditEventTypes.ConsentCreated && e.CouncilId == "leeds" && e.ClientId == "leeds" && e.SchemeId == "free-school-meals"
            && e.LawfulBasis == "consent" && e.Rule == "permission:leeds/free-school-meals/consent" && e.SubjectReference == null);
    }

    [Fact]
    public async Task Create_WithAnExpiryBeyondTheSchemeMaximum_IsCappedAtTheMaximum()
    {
        var asked = gateway.Clock.GetUtcNow().AddYears(1);

        var consent = await gateway.CreateConsentAsync("council-tax-support", asked.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));

        consent.GetProperty("expiresAt").GetDateTimeOffset().Should().Be(consent.GetProperty("createdAt").GetDateTimeOffset().AddDays(30), "council-tax-support allows at most P30D");
    }

    [Fact]
    public async Task Create_WithAnExpiryWithinTheMaximum_KeepsIt()
    {
        var asked = new DateTimeOffset(gateway.Clock.GetUtcNow().AddDays(7).UtcDateTime.Date, TimeSpan.Zero).AddHours(1);

        var consent = await gateway.CreateConsentAsync(expiresAt: asked.ToString("yyyy-MM-ddTHH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture));

        consent.GetProperty("expiresAt").GetDateTimeOffset().Should().Be(asked);
    }

    public static TheoryData<string, string> InvalidBodies => new()
    {
        { """{"scheme":"school-uniform","caseReference":"C-1"}""", "scheme" },
        { """{"caseReference":"C-1"}""", "scheme" },
        { """{"scheme":"free-school-meals"}""", "caseReference" },
        { """{"scheme":"free-school-meals","caseReference":"C-1\u0007"}""", "caseReference" },
        { """{"scheme":"free-school-meals","caseReference":"C-1","expiresAt":"2020-01-01T00:00:00Z"}""", "expiresAt" },
        { """{"scheme":"free-school-meals","caseReference":"C-1","expiresAt":"2099-01-01"}""", "expiresAt" },
        { """{"scheme":"free-school-meals","caseReference":"C-1","expiresAt":"2099-01-01T00:00:00"}""", "expiresAt" },
        { """{"scheme":"free-school-meals","caseReference":"C-1","expiresAt":"2099-02-30T00:00:00Z"}""", "expiresAt" },
        { """{"scheme":"free-school-meals","caseReference":"C-1","subject":{}}""", "subject" },
        { """{"scheme":"free-school-meals","caseReference":"C-1","expiresAt":12}""", "expiresAt" },
        { """{"scheme":"free-school-meals","scheme":"free-school-meals","caseReference":"C-1"}""", "scheme" },
        { """[]""", "body" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Create_WithAnInvalidField_Answers400NamingIt(string body, string field)
    {
        using var response = await gateway.SendAsync(HttpMethod.Post, "/v1/consents", await gateway.TokenAsync(), body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await Json.ReadAsync(response);
        problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Contain(field);
    }

    [Fact]
    public async Task Create_WithABodyThatIsNotJson_Answers415_AndWithAnOversizedBody_413()
    {
        var token = await gateway.TokenAsync();

        using var notJson = await gateway.SendAsync(HttpMethod.Post, "/v1/consents", token, "scheme=free-school-meals", "application/x-www-form-urlencoded");
        using var tooLarge = await gateway.SendAsync(
            HttpMethod.Post, "/v1/consents", token, $$"""{"scheme":"free-school-meals","caseReference":"{{new string('a', 20_000)}}"}""");

        notJson.StatusCode.Should().Be(HttpStatusCode.UnsupportedMediaType);
        tooLarge.StatusCode.Should().Be(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Create_WhenTheFrameworkDoesNotPermitConsentForTheCouncilAndScheme_Answers403NamingTheRule()
    {
        // Camden may check free school meals only (root README, "Sandbox fixtures").
        using var response = await gateway.SendAsync(
            HttpMethod.Post, "/v1/consents", await gateway.TokenAsync("camden"), """{"scheme":"council-tax-support","caseReference":"CTS-1"}""");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await Json.ReadAsync(response)).GetProperty("rule").GetString().Should().Be("deny:no-permission");
    }

    [Fact]
    public async Task ConsentEndpoints_WithoutTheConsentsManageScope_Answer403_AndWithoutAToken_401()
    {
        var consentId = (await gateway.CreateConsentAsync()).GetProperty("consentId").GetString()!;
        var checkOnly = await gateway.TokenAsync(scope: "eligibility.check");

        using var create = await gateway.SendAsync(HttpMethod.Post, "/v1/consents", checkOnly, """{"scheme":"free-school-meals","caseReference":"C-1"}""");
        using var read = await gateway.SendAsync(HttpMethod.Get, $"/v1/consents/{consentId}", checkOnly);
        using var revoke = await gateway.SendAsync(HttpMethod.Delete, $"/v1/consents/{consentId}", checkOnly);
        using var anonymous = await gateway.SendAsync(HttpMethod.Get, $"/v1/consents/{consentId}", token: null);

        create.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        read.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        revoke.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        anonymous.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("awaiting-authorisation");
    }

    [Fact]
    public async Task AnotherCouncil_CannotSeeOrRevokeAConsent_ItIsNotFound()
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith);
        var camden = await gateway.TokenAsync("camden");

        using var read = await gateway.SendAsync(HttpMethod.Get, $"/v1/consents/{consentId}", camden);
        using var revoke = await gateway.SendAsync(HttpMethod.Delete, $"/v1/consents/{consentId}", camden);

        read.StatusCode.Should().Be(HttpStatusCode.NotFound);
        revoke.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await read.Content.ReadAsStringAsync()).Should().NotContain(consentId.Replace("-", "", StringComparison.Ordinal)).And.NotContain("leeds");
        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("authorised");
    }

    [Theory]
    [InlineData("0191a8f0-0000-7000-8000-000000000000")]
    [InlineData("not-a-consent")]
    [InlineData("'%20OR%201=1")]
    public async Task Get_AConsentThatDoesNotExist_Is404(string consentId)
    {
        using var response = await gateway.SendAsync(HttpMethod.Get, $"/v1/consents/{consentId}", await gateway.TokenAsync());

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await Json.ReadAsync(response)).GetProperty("type").GetString().Should().Be("urn:eligibility-gateway:problem:consent-not-found");
    }

    [Fact]
    public async Task Delete_RevokesAnAuthorisedConsent_AndAgainChangesNothing()
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith);
        var token = await gateway.TokenAsync();

        using var first = await gateway.SendAsync(HttpMethod.Delete, $"/v1/consents/{consentId}", token);
        using var second = await gateway.SendAsync(HttpMethod.Delete, $"/v1/consents/{consentId}", token);

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        var revoked = await Json.ReadAsync(first);
        revoked.GetProperty("status").GetString().Should().Be("revoked");
        revoked.GetProperty("revokedBy").GetString().Should().Be("council");
        revoked.GetProperty("revokedAt").GetDateTimeOffset().Should().Be(gateway.Clock.GetUtcNow());
        second.StatusCode.Should().Be(HttpStatusCode.OK);
        (await Json.ReadAsync(second)).GetRawText().Should().Be(revoked.GetRawText());
        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("revoked");
        (await gateway.AuditAsync(consentId)).Count(e => e.EventType == AuditEventTypes.ConsentRevoked).Should().Be(1, "repeating a revocation records nothing new");
    }

    [Fact]
    public async Task Delete_ARejectedConsent_Is409NamingItsState()
    {
        var consentId = (await gateway.CreateConsentAsync()).GetProperty("consentId").GetString()!;
        await gateway.Consents.RejectAsync(consentId);

        using var response = await gateway.SendAsync(HttpMethod.Delete, $"/v1/consents/{consentId}", await gateway.TokenAsync());

        response.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var problem = await Json.ReadAsync(response);
        problem.GetProperty("type").GetString().Should().Be("urn:eligibility-gateway:problem:consent-not-revocable");
        problem.GetProperty("consentStatus").GetString().Should().Be("rejected");
    }
}
