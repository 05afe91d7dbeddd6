using System.Net;
using EligibilityGateway.Tests.Consents;
using EligibilityGateway.Tests.EndToEnd;

namespace EligibilityGateway.Tests.Audit;

/// <summary>Subject search finds a person's checks under both lawful bases: one made under their consent, one under public task.</summary>
public sealed class AuditorApiLawfulBasesTests(ConsentGateway gateway) : IClassFixture<ConsentGateway>
{
    [Fact]
    public async Task SubjectSearch_FindsSmithsChecksUnderConsentAndUnderPublicTask_AndNoneOfJoness()
    {
        var consentId = await gateway.AuthorisedConsentAsync(Citizens.Smith);
        using (var underConsent = await gateway.CheckAsync(gateway.ConsentToken(consentId), """{"scheme":"free-school-meals","caseReference":"FSM-CONSENT-1"}"""))
        {
            underConsent.StatusCode.Should().Be(HttpStatusCode.OK, await underConsent.Content.ReadAsStringAsync());
        }

        var checks = await gateway.TokenAsync(scope: "eligibility.check");
        foreach (var subject in new[] { Subjects.Smith, Subjects.Jones })
        {
            using var publicTask = await gateway.CheckAsync(checks, Subjects.Check(subject));
            publicTask.StatusCode.Should().Be(HttpStatusCode.OK, await publicTask.Content.ReadAsStringAsync());
        }

        var auditor = await gateway.TokenAsync("auditor", "audit.read");
        using var smith = await gateway.SendAsync(
            HttpMethod.Post, "/v1/audit/subject-search", auditor, """{"nationalInsuranceNumber":"AB123456C","dateOfBirth":"1990-01-01"}""");
        using var jones = await gateway.SendAsync(
            HttpMethod.Post, "/v1/audit/subject-search", auditor, """{"nationalInsuranceNumber":"CE234567A","dateOfBirth":"1985-05-15"}""");

        smith.StatusCode.Should().Be(HttpStatusCode.OK);
        var found = AuditorApiClient.ReadPage(await smith.Content.ReadAsStringAsync()).Events.Where(e => e.Text("eventType") == "check").ToList();
        found.Should().Contain(e => e.Text("lawfulBasis") == "consent" && e.Text("consentId") == consentId);
        found.Should().Contain(e => e.Text("lawfulBasis") == "public-task");
        var jonesChecks = AuditorApiClient.ReadPage(await jones.Content.ReadAsStringAsync()).Events.Where(e => e.Text("eventType") == "check").ToList();
        jonesChecks.Should().ContainSingle().Which.Text("lawfulBasis").Should().Be("public-task");
        found.Select(e => e.Sequence()).Should().NotContain(jonesChecks[0].Sequence());
    }
}
