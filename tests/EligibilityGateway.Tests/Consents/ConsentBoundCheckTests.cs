using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Consents;
using EligibilityGateway.Tests.EndToEnd;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Tests.Consents;

/// <summary>
/// <c>POST /v1/checks</c> with a consent-bound token (Consents/README.md): the subject comes from the consent,
/// the check is refused with 409 once the consent is revoked or expired, usage is counted and the consent recorded.
/// The tokens are minted here with the gateway's own signing key, in the form the authorization-code flow issues.
/// </summary>
public sealed class ConsentBoundCheckTests(ConsentGateway gateway) : IClassFixture<ConsentGateway>
{
    private const string Body = """{"scheme":"free-school-meals","caseReference":"FSM-CONSENT-1"}""";

    [Fact]
    public async Task Check_UnderAnAuthorisedConsent_AsksAboutTheConsentedCitizen()
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith);

        using var response = await gateway.CheckAsync(gateway.ConsentToken(consentId), Body);

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var answer = await Json.ReadAsync(response);
        answer.GetProperty("outcome").GetString().Should().Be("eligible", "Smith is eligible for free school meals");
        answer.GetProperty("lawfulBasis").GetString().Should().Be("consent");
        answer.GetProperty("consentId").GetString().Should().Be(consentId);
        answer.GetProperty("servedFrom").GetString().Should().Be("live");

        var checkId = answer.GetProperty("checkId").GetString()!;
        using var readBack = await gateway.SendAsync(HttpMethod.Get, $"/v1/checks/{checkId}", await gateway.TokenAsync(scope: "eligibility.check"));
        (await Json.ReadAsync(readBack)).GetProperty("consentId").GetString().Should().Be(consentId);

        var reference = gateway.Gateway.Services.GetRequiredService<SubjectReferences>().Compute(Citizens.Smith);
        var record = (await gateway.AuditAsync(consentId)).Single(e => e.EventType == AuditEventTypes.Check);
        record.Decision.Should().Be(AuditDecisions.Allow);
        record.LawfulBasis.Should().Be("consent");
        record.SubjectReference.Should().Be(reference);
        record.Rule.Should().Be("permission:leeds/free-school-meals/consent");
    }

    [Fact]
    public async Task Check_UnderConsents_GivesEachCitizenTheirOwnOutcome()
    {
        var jones = await gateway.AuthorisedConsentAsync(Citizens.Jones);
        var khan = await gateway.AuthorisedConsentAsync(Citizens.Khan);

        using var jonesAnswer = await gateway.CheckAsync(gateway.ConsentToken(jones), Body);
        using var khanAnswer = await gateway.CheckAsync(gateway.ConsentToken(khan), Body);

        (await Json.ReadAsync(jonesAnswer)).GetProperty("outcome").GetString().Should().Be("not-eligible");
        (await Json.ReadAsync(khanAnswer)).GetProperty("outcome").GetString().Should().Be("eligible");
    }

    [Fact]
    public async Task Check_UnderConsent_WithLawfulBasisConsentStated_IsAccepted()
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith);

        using var response = await gateway.CheckAsync(
            gateway.ConsentToken(consentId), """{"scheme":"free-school-meals","lawfulBasis":"consent","caseReference":"FSM-CONSENT-2"}""");

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("""{"scheme":"free-school-meals","caseReference":"C-1","subject":{"nationalInsuranceNumber":"CE234567A","lastName":"Jones","dateOfBirth":"1985-05-15"}}""", "subject")]
    [InlineData("""{"scheme":"free-school-meals","caseReference":"C-1","lawfulBasis":"public-task"}""", "lawfulBasis")]
    [InlineData("""{"scheme":"free-school-meals","caseReference":"C-1","lawfulBasis":"legitimate-interest"}""", "lawfulBasis")]
    [InlineData("""{"caseReference":"C-1"}""", "scheme")]
    [InlineData("""{"scheme":"free-school-meals"}""", "caseReference")]
    public async Task Check_UnderConsent_WithAFieldTheConsentDecides_Answers400NamingIt(string body, string field)
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith);

        using var response = await gateway.CheckAsync(gateway.ConsentToken(consentId), body);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, await response.Content.ReadAsStringAsync());
        (await Json.ReadAsync(response)).GetProperty("errors").EnumerateObject().Select(e => e.Name).Should().Equal(field);
        (await gateway.GetConsentAsync(consentId)).GetProperty("usageCount").GetInt64().Should().Be(0, "a refused request is not a use");
    }

    [Fact]
    public async Task Check_AfterTheCouncilRevokes_Is409NamingRevoked_EvenThoughTheAnswerIsCached()
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith);
        var token = gateway.ConsentToken(consentId);
        using (var first = await gateway.CheckAsync(token, Body))
        {
            first.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using (var cached = await gateway.CheckAsync(token, Body))
        {
            (await Json.ReadAsync(cached)).GetProperty("servedFrom").GetString().Should().Be("cache");
        }

        using (var revoke = await gateway.SendAsync(HttpMethod.Delete, $"/v1/consents/{consentId}", await gateway.TokenAsync()))
        {
            revoke.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var refused = await gateway.CheckAsync(token, Body);

        refused.StatusCode.Should().Be(HttpStatusCode.Conflict);
        var problem = await Json.ReadAsync(refused);
        problem.GetProperty("type").GetString().Should().Be("urn:eligibility-gateway:problem:consent-not-usable");
        problem.GetProperty("consentStatus").GetString().Should().Be("revoked");
        problem.GetProperty("consentId").GetString().Should().Be(consentId);
        (await refused.Content.ReadAsStringAsync()).Should().NotContain("eligible");
        var denial = (await gateway.AuditAsync(consentId)).Last(e => e.EventType == AuditEventTypes.Check);
        denial.Decision.Should().Be(AuditDecisions.Deny);
        denial.Rule.Should().Be("deny:consent-revoked");
        (await gateway.GetConsentAsync(consentId)).GetProperty("usageCount").GetInt64().Should().Be(2);
    }

    [Fact]
    public async Task Check_AfterTheCitizenRevokes_Is409()
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith);
        await gateway.Consents.RevokeAsync(consentId, ConsentRevoker.Citizen);

        using var refused = await gateway.CheckAsync(gateway.ConsentToken(consentId), Body);

        refused.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await Json.ReadAsync(refused)).GetProperty("consentStatus").GetString().Should().Be("revoked");
    }

    [Fact]
    public async Task Check_AfterTheConsentExpires_Is409NamingExpired_AndTheAnswerIsNeverCachedPastTheExpiry()
    {
        var expiresAt = gateway.Clock.GetUtcNow().AddHours(1);
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith, expiresAt: expiresAt.ToString("yyyy-MM-ddTHH:mm:ss.fffffffzzz", CultureInfo.InvariantCulture));

        using var before = await gateway.CheckAsync(gateway.ConsentToken(consentId), Body);
        var answer = await Json.ReadAsync(before);
        answer.GetProperty("validUntil").GetDateTimeOffset().Should().Be(expiresAt, "the scheme caches for a day, but the consent ends in an hour");

        gateway.Clock.SetUtcNow(expiresAt);
        using var after = await gateway.CheckAsync(gateway.ConsentToken(consentId), Body);

        after.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await Json.ReadAsync(after)).GetProperty("consentStatus").GetString().Should().Be("expired");
        (await gateway.AuditAsync(consentId)).Select(e => e.EventType).Should().Equal(
            AuditEventTypes.ConsentCreated, AuditEventTypes.ConsentAuthorised, AuditEventTypes.Check, AuditEventTypes.ConsentExpired, AuditEventTypes.Check);
    }

    [Fact]
    public async Task Check_BeforeTheCitizenAnswers_Is409NamingAwaitingAuthorisation_AndAfterRejection_Rejected()
    {
        var waiting = (await gateway.CreateConsentAsync()).GetProperty("consentId").GetString()!;
        var rejected = (await gateway.CreateConsentAsync()).GetProperty("consentId").GetString()!;
        await gateway.Consents.RejectAsync(rejected);

        using var early = await gateway.CheckAsync(gateway.ConsentToken(waiting), Body);
        using var refused = await gateway.CheckAsync(gateway.ConsentToken(rejected), Body);

        early.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await Json.ReadAsync(early)).GetProperty("consentStatus").GetString().Should().Be("awaiting-authorisation");
        refused.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await Json.ReadAsync(refused)).GetProperty("consentStatus").GetString().Should().Be("rejected");
    }

    [Fact]
    public async Task Check_UnderAnotherCouncilsConsent_Is403_AndNothingIsLearnt()
    {
        var leedsConsent = await gateway.AuthorisedConsentAsync(Citizens.Smith);

        using var response = await gateway.CheckAsync(gateway.ConsentToken(leedsConsent, client: "camden"), Body);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await Json.ReadAsync(response)).GetProperty("rule").GetString().Should().Be("deny:consent-unknown");
        (await gateway.GetConsentAsync(leedsConsent)).GetProperty("usageCount").GetInt64().Should().Be(0);
    }

    [Fact]
    public async Task Check_ForAnotherSchemeThanTheConsentWasGivenFor_Is403()
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith, scheme: "council-tax-support");

        using var response = await gateway.CheckAsync(gateway.ConsentToken(consentId), Body);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await Json.ReadAsync(response)).GetProperty("rule").GetString().Should().Be("deny:consent-for-other-scheme");
    }

    [Fact]
    public async Task Check_UnderConsent_CountsEveryUse_LiveOrCached()
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith);
        var token = gateway.ConsentToken(consentId);

        for (var i = 0; i < 3; i++)
        {
            using var response = await gateway.CheckAsync(token, Body);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var consent = await gateway.GetConsentAsync(consentId);
        consent.GetProperty("usageCount").GetInt64().Should().Be(3);
        consent.GetProperty("lastUsedAt").GetDateTimeOffset().Should().Be(gateway.Clock.GetUtcNow());
    }

    [Fact]
    public async Task ConcurrentChecks_UnderOneConsent_AreEachCountedOnce()
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Taylor);
        var token = gateway.ConsentToken(consentId);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => gateway.CheckAsync(token, Body)));

        responses.Should().OnlyContain(r => r.StatusCode == HttpStatusCode.OK);
        foreach (var response in responses)
        {
            response.Dispose();
        }

        (await gateway.GetConsentAsync(consentId)).GetProperty("usageCount").GetInt64().Should().Be(20);
    }

    [Fact]
    public async Task ACachedAnswer_UnderOneConsent_IsNotServedUnderAnotherOrUnderPublicTask()
    {
        var first = await gateway.AuthorisedConsentAsync(Citizens.Smith);
        var second = await gateway.AuthorisedConsentAsync(Citizens.Smith);
        using (var warm = await gateway.CheckAsync(gateway.ConsentToken(first), Body))
        {
            warm.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var underSecond = await gateway.CheckAsync(gateway.ConsentToken(second), Body);
        using var publicTask = await gateway.CheckAsync(await gateway.TokenAsync(scope: "eligibility.check"), Subjects.Check(Subjects.Smith));

        (await Json.ReadAsync(underSecond)).GetProperty("servedFrom").GetString().Should().Be("live");
        (await Json.ReadAsync(publicTask)).GetProperty("servedFrom").GetString().Should().Be("live");
    }

    [Fact]
    public async Task ClientCredentialsToken_AskingUnderConsent_IsStillDeniedConsentNotPresented()
    {
        using var response = await gateway.CheckAsync(await gateway.TokenAsync(scope: "eligibility.check"), Subjects.Check(Subjects.Smith, basis: "consent"));

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await Json.ReadAsync(response)).GetProperty("rule").GetString().Should().Be("deny:consent-not-presented");
    }

    public static TheoryData<string> MalformedDetails => new()
    {
        """{"type":"eligibility-check","consent_id":"x"}""",
        """[]""",
        """[{"type":"payment","consent_id":"0191a8f0-0000-7000-8000-000000000000"}]""",
        """[{"type":"eligibility-check"}]""",
        """[{"type":"eligibility-check","consent_id":42}]""",
        """[{"type":"eligibility-check","consent_id":"a"},{"type":"eligibility-check","consent_id":"b"}]""",
        """[{"type":"eligibility-check","consent_id":"../../etc/passwd"}]""",
    };

    [Theory]
    [MemberData(nameof(MalformedDetails))]
    public async Task Token_WithAuthorizationDetailsNotInTheFormTheGatewayIssues_IsRefused401(string details)
    {
        using var document = JsonDocument.Parse(details);

        using var response = await gateway.CheckAsync(gateway.ConsentToken("unused", authorizationDetails: document.RootElement.Clone()), Body);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.ToString().Should().Contain("invalid_token");
    }

    [Fact]
    public async Task TheConsentedIdentifiers_AreNeitherReadableInTheConsentDatabaseNorInAnyLogLine()
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith);
        var khan = await gateway.AuthorisedConsentAsync(Citizens.Khan);
        using (var check = await gateway.CheckAsync(gateway.ConsentToken(consentId), Body))
        {
            check.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using (var check = await gateway.CheckAsync(gateway.ConsentToken(khan), Body))
        {
            check.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        await gateway.Consents.RevokeAsync(consentId, ConsentRevoker.Citizen);

        // The database file and its write-ahead log, read as the bytes an attacker with the disk would see.
        var files = new[] { gateway.ConsentDatabase, gateway.ConsentDatabase + "-wal" }.Where(File.Exists).ToArray();
        files.Should().NotBeEmpty();
        var stored = string.Concat(files.Select(f => Encoding.Latin1.GetString(ReadShared(f))));
        stored.Should().Contain(consentId, "the scan reads the file the consents are in");
        var identifiers = Subjects.PersonalData.Concat(["citizen-account-1", "240712349"]);
        foreach (var value in identifiers)
        {
            stored.Should().NotContainEquivalentOf(value);
            string.Join('\n', gateway.Logs.Lines).Should().NotContainEquivalentOf(value);
        }

        gateway.Logs.Lines.Should().Contain(line => line.Contains(consentId, StringComparison.Ordinal), "the log names consents by id, so the scan above saw the consent lines");
    }

    private static byte[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
