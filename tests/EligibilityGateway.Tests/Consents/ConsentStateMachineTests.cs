using EligibilityGateway.Audit;
using EligibilityGateway.Caching;
using EligibilityGateway.Consents;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Tests.Consents;

/// <summary>
/// Every consent transition — driven from the citizen's side through <see cref="ConsentService"/>, as the
/// consent pages will, and read back by the council over HTTP — each audited once, and every other transition refused.
/// </summary>
public sealed class ConsentStateMachineTests(ConsentGateway gateway) : IClassFixture<ConsentGateway>
{
    private async Task<string> NewConsentAsync(string? expiresAt = null) =>
        (await gateway.CreateConsentAsync(expiresAt: expiresAt)).GetProperty("consentId").GetString()!;

    [Fact]
    public async Task Authorise_BindsTheCitizenBySubjectReference_AndIsAudited()
    {
        var consentId = await NewConsentAsync();

        var change = await gateway.Consents.AuthoriseAsync(consentId, Citizens.Smith, "citizen-account-1");

        var made = change.Should().BeOfType<ConsentChange.Made>().Subject;
        var reference = gateway.Gateway.Services.GetRequiredService<SubjectReferences>().Compute(Citizens.Smith);
        made.Consent.SubjectReference.Should().Be(reference);
        gateway.Consents.TryOpenSubject(made.Consent).Should().Be(new ConsentedSubject(Citizens.Smith, "citizen-account-1"));
        var read = await gateway.GetConsentAsync(consentId);
        read.GetProperty("status").GetString().Should().Be("authorised");
        read.GetProperty("authorisedAt").GetDateTimeOffset().Should().Be(gateway.Clock.GetUtcNow());
        read.GetRawText().Should().NotContain("sr1:", "the council never learns who the citizen is").And.NotContain("citizen-account-1");
        (await gateway.AuditAsync(consentId)).Select(e => (e.EventType, e.SubjectReference)).Should().Equal(
            (AuditEventTypes.ConsentCreated, null),
            (AuditEventTypes.ConsentAuthorised, reference));
    }

    [Fact]
    public async Task Reject_EndsTheConsent_AndIsAudited_AndNothingElseCanHappenToIt()
    {
        var consentId = await NewConsentAsync();

        var rejected = await gateway.Consents.RejectAsync(consentId);
        var authorise = await gateway.Consents.AuthoriseAsync(consentId, Citizens.Smith, "citizen-account-1");
        var rejectAgain = await gateway.Consents.RejectAsync(consentId);
        var revoke = await gateway.Consents.RevokeAsync(consentId, ConsentRevoker.Citizen);

        rejected.Should().BeOfType<ConsentChange.Made>().Which.Consent.Status.Should().Be(ConsentStatus.Rejected);
        foreach (var refused in new[] { authorise, rejectAgain, revoke })
        {
            refused.Should().BeOfType<ConsentChange.Refused>().Which.Status.Should().Be(ConsentStatus.Rejected);
        }

        authorise.As<ConsentChange.Refused>().Reason.Should().Contain("awaiting authorisation").And.Contain("rejected");
        var read = await gateway.GetConsentAsync(consentId);
        read.GetProperty("status").GetString().Should().Be("rejected");
        read.GetProperty("rejectedAt").GetDateTimeOffset().Should().Be(gateway.Clock.GetUtcNow());
        (await gateway.AuditAsync(consentId)).Select(e => e.EventType).Should().Equal(AuditEventTypes.ConsentCreated, AuditEventTypes.ConsentRejected);
    }

    [Fact]
    public async Task Authorise_Twice_IsRefusedTheSecondTime_AndKeepsTheFirstCitizen()
    {
        var consentId = await NewConsentAsync();
        await gateway.Consents.AuthoriseAsync(consentId, Citizens.Smith, "citizen-account-1");

        var second = await gateway.Consents.AuthoriseAsync(consentId, Citizens.Jones, "citizen-account-2");

        var refused = second.Should().BeOfType<ConsentChange.Refused>().Subject;
        refused.Status.Should().Be(ConsentStatus.Authorised);
        gateway.Consents.TryOpenSubject((await gateway.Consents.FindAsync(consentId, CancellationToken.None))!)!.Subject.Should().Be(Citizens.Smith);
        (await gateway.AuditAsync(consentId)).Count(e => e.EventType == AuditEventTypes.ConsentAuthorised).Should().Be(1);
    }

    [Fact]
    public async Task RevokeByTheCitizen_IsAudited_AndNotifiesWithTheAnswerKeyOfTheConsent()
    {
        var consentId = await NewConsentAsync();
        await gateway.Consents.AuthoriseAsync(consentId, Citizens.Smith, "citizen-account-1");

        var change = await gateway.Consents.RevokeAsync(consentId, ConsentRevoker.Citizen);
        var again = await gateway.Consents.RevokeAsync(consentId, ConsentRevoker.Citizen);

        change.Should().BeOfType<ConsentChange.Made>().Which.Consent.Status.Should().Be(ConsentStatus.Revoked);
        again.Should().BeOfType<ConsentChange.Unchanged>();
        var read = await gateway.GetConsentAsync(consentId);
        read.GetProperty("status").GetString().Should().Be("revoked");
        read.GetProperty("revokedBy").GetString().Should().Be("citizen");
        var reference = gateway.Gateway.Services.GetRequiredService<SubjectReferences>().Compute(Citizens.Smith);
        var expectedKey = gateway.Gateway.Services.GetRequiredService<CacheKeys>().For("leeds", "free-school-meals", consentId, Citizens.Smith);
        gateway.Revocations.Notices.Should().ContainSingle(n => n.ConsentId == consentId).Which.Should().BeEquivalentTo(new
        {
            ConsentId = consentId,
            CouncilId = "leeds",
            SchemeId = "free-school-meals",
            SubjectReference = reference,
            AnswerKey = (CacheKey?)expectedKey,
            By = ConsentRevoker.Citizen,
        });
        var audit = await gateway.AuditAsync(consentId);
        audit.Select(e => e.EventType).Should().Equal(AuditEventTypes.ConsentCreated, AuditEventTypes.ConsentAuthorised, AuditEventTypes.ConsentRevoked);
        audit[^1].SubjectReference.Should().Be(reference);
        audit[^1].ClientId.Should().BeNull("the citizen revoked it, not a client");
    }

    [Fact]
    public async Task RevokeBeforeAuthorisation_WithdrawsTheRequest_SoTheCitizenCanNoLongerAuthoriseIt()
    {
        var consentId = await NewConsentAsync();

        var revoke = await gateway.Consents.RevokeAsync(consentId, ConsentRevoker.Council("leeds"));
        var authorise = await gateway.Consents.AuthoriseAsync(consentId, Citizens.Smith, "citizen-account-1");

        revoke.Should().BeOfType<ConsentChange.Made>();
        authorise.Should().BeOfType<ConsentChange.Refused>().Which.Status.Should().Be(ConsentStatus.Revoked);
        gateway.Revocations.Notices.Should().ContainSingle(n => n.ConsentId == consentId).Which.AnswerKey.Should().BeNull("nothing can have been cached under a consent never authorised");
        (await gateway.AuditAsync(consentId)).Select(e => (e.EventType, e.ClientId)).Should().Equal(
            (AuditEventTypes.ConsentCreated, "leeds"),
            (AuditEventTypes.ConsentRevoked, "leeds"));
    }

    [Fact]
    public async Task AnAuthorisedConsent_ExpiresWhenItsTimeComes_RecordedOnceWhenFirstSeen()
    {
        var consentId = await NewConsentAsync(gateway.Clock.GetUtcNow().AddHours(2).ToString("yyyy-MM-ddTHH:mm:ss.fffffffzzz", System.Globalization.CultureInfo.InvariantCulture));
        await gateway.Consents.AuthoriseAsync(consentId, Citizens.Smith, "citizen-account-1");
        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("authorised");

        gateway.Clock.Advance(TimeSpan.FromHours(2));

        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("expired");
        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("expired");
        (await gateway.Consents.RevokeAsync(consentId, ConsentRevoker.Citizen)).Should().BeOfType<ConsentChange.Refused>()
            .Which.Status.Should().Be(ConsentStatus.Expired);
        var audit = await gateway.AuditAsync(consentId);
        audit.Select(e => e.EventType).Should().Equal(AuditEventTypes.ConsentCreated, AuditEventTypes.ConsentAuthorised, AuditEventTypes.ConsentExpired);
        audit[^1].SubjectReference.Should().NotBeNull();
    }

    [Fact]
    public async Task AConsentNeverAnswered_ExpiresToo_AndCanThenNotBeAuthorised()
    {
        var consentId = await NewConsentAsync(gateway.Clock.GetUtcNow().AddMinutes(30).ToString("yyyy-MM-ddTHH:mm:ss.fffffffzzz", System.Globalization.CultureInfo.InvariantCulture));

        gateway.Clock.Advance(TimeSpan.FromMinutes(31));
        var authorise = await gateway.Consents.AuthoriseAsync(consentId, Citizens.Smith, "citizen-account-1");
        var reject = await gateway.Consents.RejectAsync(consentId);

        authorise.Should().BeOfType<ConsentChange.Refused>().Which.Status.Should().Be(ConsentStatus.Expired);
        reject.Should().BeOfType<ConsentChange.Refused>().Which.Status.Should().Be(ConsentStatus.Expired);
        (await gateway.AuditAsync(consentId)).Select(e => e.EventType).Should().Equal(AuditEventTypes.ConsentCreated, AuditEventTypes.ConsentExpired);
    }

    [Fact]
    public async Task Transitions_OnAConsentThatDoesNotExist_AreNotFound()
    {
        var missing = Guid.NewGuid().ToString();

        (await gateway.Consents.AuthoriseAsync(missing, Citizens.Smith, "citizen-account-1")).Should().BeOfType<ConsentChange.NotFound>();
        (await gateway.Consents.RejectAsync(missing)).Should().BeOfType<ConsentChange.NotFound>();
        (await gateway.Consents.RevokeAsync(missing, ConsentRevoker.Citizen)).Should().BeOfType<ConsentChange.NotFound>();
    }
}
