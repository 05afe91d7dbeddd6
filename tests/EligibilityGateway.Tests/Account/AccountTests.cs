using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Caching;
using EligibilityGateway.Consents;
using EligibilityGateway.Pages;
using EligibilityGateway.Tests.EndToEnd;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;

namespace EligibilityGateway.Tests.Account;

/// <summary>
/// The citizen's account and the revocation cascade it starts, through real HTTP against the
/// sandbox composition with Redis: signed in as the sandbox citizens smith and jones.
/// </summary>
public sealed class AccountTests(AccountFixture sandbox) : IClassFixture<AccountFixture>
{
    [Fact]
    public async Task Account_ListsTheCitizensConsent_WithStatusRevokeAndReceipt_AndNotToAnotherCitizen()
    {
        var consentId = await sandbox.AuthorisedConsentAsync("smith");
        using var smith = await sandbox.SignedInAsync("smith");
        using var jones = await sandbox.SignedInAsync("jones");

        var html = await PageAsync(smith, "/account");

        html.Should().Contain("Your consents");
        var card = Card(html, consentId);
        card.Should().Contain("Free school meals – Leeds City Council");
        card.Should().Contain("<strong class=\"govuk-tag govuk-tag--green\">Active</strong>");
        card.Should().Contain("Times used").And.Contain("Not used yet");
        card.Should().Contain($"<input type=\"hidden\" name=\"consentId\" value=\"{consentId}\">");
        card.Should().Contain("name=\"__RequestVerificationToken\"", "the Revoke form is protected against cross-site request forgery");
        card.Should().Contain($"href=\"/account/consents/{consentId}/receipt\"");
        (await PageAsync(jones, "/account")).Should().NotContain(consentId);
    }

    [Fact]
    public async Task Activity_ShowsAPublicTaskCheckAboutTheCitizen_AndNotOneAboutSomeoneElse()
    {
        using var smith = await sandbox.SignedInAsync("smith");
        var before = CountOf(await PageAsync(smith, "/account"), "Without consent, as a public task");
        var token = await sandbox.TokenAsync();
        using (var aboutSmith = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Smith)))
        {
            aboutSmith.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using (var aboutJones = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Jones)))
        {
            aboutJones.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var html = await PageAsync(smith, "/account");

        CountOf(html, "Without consent, as a public task").Should().Be(before + 1, "exactly one public-task check was made about Smith");
        var firstRow = html[html.IndexOf("<tbody class=\"govuk-table__body\">", StringComparison.Ordinal)..];
        firstRow = firstRow[..firstRow.IndexOf("</tr>", StringComparison.Ordinal)];
        firstRow.Should().Contain("Leeds City Council checked whether you qualify for Free school meals", "the newest check comes first");
        firstRow.Should().Contain("You qualify").And.Contain("Without consent, as a public task the law allows");
        using var jones = await sandbox.SignedInAsync("jones");
        var jonesPage = await PageAsync(jones, "/account");
        CountOf(jonesPage, "You qualify").Should().Be(0, "Jones's own check said not eligible, and Smith's check is not about Jones");
        CountOf(jonesPage, "You do not qualify").Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public async Task Activity_IsPagedNewestFirst_ByTheLastSequenceShown()
    {
        var token = await sandbox.TokenAsync();
        for (var i = 0; i < AccountConsents.ActivityPageSize + 1; i++)
        {
            using var response = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Taylor, caseReference: $"FSM-PAGE-{i}"));
            response.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        using var taylor = await sandbox.SignedInAsync("taylor");
        var first = await PageAsync(taylor, "/account");
        var older = System.Text.RegularExpressions.Regex.Match(first, "href=\"/account\\?before=(\\d+)#activity\"");
        older.Success.Should().BeTrue("a full page links to older checks");
        CountOf(first, "checked whether you qualify").Should().Be(AccountConsents.ActivityPageSize);

        var second = await PageAsync(taylor, $"/account?before={older.Groups[1].Value}");
        CountOf(second, "checked whether you qualify").Should().BeGreaterThanOrEqualTo(1);
        second.Should().Contain("Newest checks");
    }

    [Fact]
    public async Task Revoke_ByTheCitizen_WithdrawsTheConsent_PurgesItsCachedAnswer_AndTheNextCheckIs409()
    {
        var consentId = await sandbox.AuthorisedConsentAsync("smith");
        using (var first = await sandbox.ConsentCheckAsync(consentId))
        {
            first.StatusCode.Should().Be(HttpStatusCode.OK, await first.Content.ReadAsStringAsync());
        }

        var key = sandbox.Services.GetRequiredService<CacheKeys>().For("leeds", "free-school-meals", consentId, sandbox.IdentityOf("smith")).Value;
        using var redis = await ConnectionMultiplexer.ConnectAsync(sandbox.Redis.Endpoint);
        (await redis.GetDatabase().KeyExistsAsync(key)).Should().BeTrue("the answer under the consent was cached");
        using var smith = await sandbox.SignedInAsync("smith");

        using var revoke = await AccountFixture.RevokeAsync(smith, consentId);

        revoke.StatusCode.Should().Be(HttpStatusCode.Redirect);
        revoke.Headers.Location!.OriginalString.Should().Be($"/account?revoked={consentId}");
        var html = await PageAsync(smith, revoke.Headers.Location.OriginalString);
        html.Should().Contain("govuk-notification-banner--success").And.Contain("You withdrew your consent");
        var card = Card(html, consentId);
        card.Should().Contain("<strong class=\"govuk-tag govuk-tag--red\">Withdrawn</strong>");
        card.Should().NotContain("name=\"consentId\"", "a withdrawn consent has no Revoke button");
        var consent = await sandbox.Services.GetRequiredService<ConsentService>().FindAsync(consentId, CancellationToken.None);
        consent!.Status.Should().Be(ConsentStatus.Revoked);
        consent.RevokedBy.Should().Be("citizen");
        (await redis.GetDatabase().KeyExistsAsync(key)).Should().BeFalse("revocation purges the answer cached under the consent");
        sandbox.Services.GetRequiredService<RevokedConsents>().IsRevoked(consentId).Should().BeTrue();
        using var after = await sandbox.ConsentCheckAsync(consentId);
        after.StatusCode.Should().Be(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Revoke_WithoutTheAntiforgeryToken_Is400_AndChangesNothing()
    {
        var consentId = await sandbox.AuthorisedConsentAsync("smith");
        using var smith = await sandbox.SignedInAsync("smith");

        using var response = await AccountFixture.RevokeAsync(smith, consentId, withToken: false);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await sandbox.Services.GetRequiredService<ConsentService>().FindAsync(consentId, CancellationToken.None))!.Status.Should().Be(ConsentStatus.Authorised);
    }

    [Fact]
    public async Task AnotherCitizen_CannotRevokeOrDownloadTheConsent_ItIsNotFoundForThem()
    {
        var consentId = await sandbox.AuthorisedConsentAsync("smith");
        using var jones = await sandbox.SignedInAsync("jones");

        using var revoke = await AccountFixture.RevokeAsync(jones, consentId);
        using var receipt = await jones.GetAsync($"/account/consents/{consentId}/receipt");
        using var unknown = await jones.GetAsync($"/account/consents/{Guid.NewGuid()}/receipt");

        revoke.StatusCode.Should().Be(HttpStatusCode.NotFound);
        receipt.StatusCode.Should().Be(HttpStatusCode.NotFound);
        unknown.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await receipt.Content.ReadAsStringAsync()).Should().NotContain("Leeds", "nothing about another citizen's consent is shown");
        (await sandbox.Services.GetRequiredService<ConsentService>().FindAsync(consentId, CancellationToken.None))!.Status.Should().Be(ConsentStatus.Authorised);
        using (var check = await sandbox.ConsentCheckAsync(consentId))
        {
            check.StatusCode.Should().Be(HttpStatusCode.OK);
        }
    }

    [Fact]
    public async Task SignedOut_TheAccountAndReceiptsRedirectToSignIn()
    {
        var consentId = await sandbox.AuthorisedConsentAsync("smith");
        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = sandbox.Sandbox.GatewayAddress };

        using var receipt = await anonymous.GetAsync($"/account/consents/{consentId}/receipt");

        receipt.StatusCode.Should().Be(HttpStatusCode.Redirect);
        receipt.Headers.Location!.PathAndQuery.Should().StartWith("/sign-in?returnUrl=");
    }

    [Fact]
    public async Task Receipt_IsAJwsSignedWithAPublishedAuditKey_AboutTheConsent_WithNoIdentifiers()
    {
        var consentId = await sandbox.AuthorisedConsentAsync("smith");
        using var smith = await sandbox.SignedInAsync("smith");

        using var response = await smith.GetAsync($"/account/consents/{consentId}/receipt");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/jose");
        response.Content.Headers.ContentDisposition!.DispositionType.Should().Be("attachment");
        var jws = await response.Content.ReadAsStringAsync();
        var parts = jws.Split('.');
        parts.Should().HaveCount(3);

        using var jwksResponse = await sandbox.Http.GetAsync(sandbox.Gateway("/v1/audit/jwks"));
        var jwks = new JsonWebKeySet(await jwksResponse.Content.ReadAsStringAsync());
        using var header = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(parts[0]));
        header.RootElement.GetProperty("alg").GetString().Should().Be("ES256");
        header.RootElement.GetProperty("typ").GetString().Should().Be("egw-consent-receipt+jws");
        var jwk = jwks.Keys.Single(k => k.Kid == header.RootElement.GetProperty("kid").GetString());
        using var key = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(jwk.X), Y = Base64UrlEncoder.DecodeBytes(jwk.Y) },
        });
        key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64UrlEncoder.DecodeBytes(parts[2]), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            .Should().BeTrue("the receipt verifies with the audit key published at /v1/audit/jwks");
        var tampered = Base64UrlEncoder.Encode(Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("authorised", "revoked__", StringComparison.Ordinal));
        key.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + tampered), Base64UrlEncoder.DecodeBytes(parts[2]), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
            .Should().BeFalse("a changed receipt no longer verifies");

        var payloadText = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1]));
        using var payload = JsonDocument.Parse(payloadText);
        var receipt = payload.RootElement;
        receipt.GetProperty("jurisdiction").GetString().Should().Be("GB");
        receipt.GetProperty("controller").GetProperty("name").GetString().Should().Be("Leeds City Council");
        receipt.GetProperty("processor").GetProperty("name").GetString().Should().Be("Eligibility Gateway");
        receipt.GetProperty("lawfulBasis").GetString().Should().Be("consent");
        receipt.GetProperty("purpose").GetString().Should().NotBeNullOrEmpty();
        receipt.GetProperty("scheme").GetProperty("id").GetString().Should().Be("free-school-meals");
        receipt.GetProperty("providers").GetArrayLength().Should().BeGreaterThan(0);
        receipt.GetProperty("dataReleased").EnumerateArray().Select(e => e.GetString()).Should().Contain("outcome");
        receipt.GetProperty("consent").GetProperty("id").GetString().Should().Be(consentId);
        receipt.GetProperty("consent").GetProperty("status").GetString().Should().Be("authorised");
        receipt.GetProperty("consent").GetProperty("authorisedAt").GetString().Should().NotBeNullOrEmpty();
        receipt.GetProperty("consent").GetProperty("expiresAt").GetString().Should().NotBeNullOrEmpty();
        receipt.GetProperty("subject").GetProperty("subjectReference").GetString()
            .Should().Be(sandbox.Services.GetRequiredService<SubjectReferences>().Compute(sandbox.IdentityOf("smith")));
        foreach (var personal in Subjects.PersonalData)
        {
            payloadText.Should().NotContainEquivalentOf(personal, "a receipt names the citizen by subject reference only");
        }
    }

    private static async Task<string> PageAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The summary card of one consent on the account page.</summary>
    private static string Card(string html, string consentId)
    {
        var start = html.IndexOf($"id=\"consent-{consentId}\"", StringComparison.Ordinal);
        start.Should().BeGreaterThan(0, "the account lists the consent");
        var end = html.IndexOf("class=\"govuk-summary-card\"", start, StringComparison.Ordinal);
        return end < 0 ? html[start..] : html[start..end];
    }

    private static int CountOf(string html, string text)
    {
        var count = 0;
        for (var at = html.IndexOf(text, StringComparison.Ordinal); at >= 0; at = html.IndexOf(text, at + text.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
