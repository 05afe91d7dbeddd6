using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Consents;
using EligibilityGateway.Pages;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.Pages.Federation;

/// <summary>
/// Citizens signing in through an external OpenID Connect provider — oidc-provider over real HTTP — then
/// authorising a consent that is bound to the identity the provider verified; and every way a federated sign-in is refused.
/// </summary>
public sealed class FederatedSignInTests(SandboxFederatedGateway gateway) : IClassFixture<SandboxFederatedGateway>
{
    private static readonly Subject Smith = new(IdentifierKind.NationalInsuranceNumber, "AB123456C", "Smith", new DateOnly(1990, 1, 1));

    [Fact]
    public async Task Citizen_SignsInWithTheIdentityProvider_AndAuthorisesAConsentBoundToTheirVerifiedIdentity()
    {
        var manage = await gateway.ClientTokenAsync("consents.manage");
        using var created = await gateway.SendWithTokenAsync(HttpMethod.Post, "/v1/consents", manage, """{"scheme":"free-school-meals","caseReference":"FSM-FEDERATED-1"}""");
        var consentId = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("consentId").GetString()!;
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        using var pushed = await gateway.PostAsClientAsync("/connect/par", new Dictionary<string, string>
        {
            ["response_type"] = "code",
            ["client_id"] = "leeds",
            ["redirect_uri"] = FederatedGateway.CouncilRedirectUri,
            ["scope"] = "openid eligibility.check",
            ["state"] = "council-state",
            ["code_challenge"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))),
            ["code_challenge_method"] = "S256",
            ["authorization_details"] = $$"""[{"type":"eligibility-check","consent_id":"{{consentId}}"}]""",
        });
        pushed.StatusCode.Should().Be(HttpStatusCode.Created, await pushed.Content.ReadAsStringAsync());
        var requestUri = JsonDocument.Parse(await pushed.Content.ReadAsStringAsync()).RootElement.GetProperty("request_uri").GetString()!;
        var authorizePath = $"/connect/authorize?client_id=leeds&request_uri={Uri.EscapeDataString(requestUri)}";
        using var browser = gateway.NewBrowser();

        using (var unsigned = await browser.Client.GetAsync(authorizePath))
        {
            unsigned.StatusCode.Should().Be(HttpStatusCode.Redirect);
            unsigned.Headers.Location!.PathAndQuery.Should().StartWith("/sign-in?returnUrl=");
        }

        var callback = await browser.SignInAtProviderAsync("smith", authorizePath);

        // The provider offers PAR (RFC 9126), so the browser carried only a request_uri; the request itself went over the
        // back channel: code flow, PKCE S256, state and nonce, our registered redirect URI.
        var front = QueryHelpers.ParseQuery(browser.ProviderAuthorizationRequest!.Query);
        front.Keys.Should().BeEquivalentTo("client_id", "request_uri");
        front["client_id"].ToString().Should().Be(FederatedGateway.ClientId);
        front["request_uri"].ToString().Should().StartWith("urn:ietf:params:oauth:request_uri:");
        var sent = await gateway.Provider.LastAuthorizationRequestAsync();
        sent["response_type"].Should().Be("code");
        sent["client_id"].Should().Be(FederatedGateway.ClientId);
        sent["code_challenge_method"].Should().Be("S256");
        sent["code_challenge"].Should().HaveLength(43);
        sent["nonce"].Should().NotBeNullOrEmpty();
        sent["state"].Should().NotBeNullOrEmpty();
        sent["redirect_uri"].Should().Be(gateway.Url("/sign-in/callback").AbsoluteUri);
        sent["scope"].Should().Be("openid identity");
        var returned = QueryHelpers.ParseQuery(callback.Query);
        returned["iss"].ToString().Should().Be(gateway.Provider.Issuer, "RFC 9207");
        returned["state"].ToString().Should().Be(sent["state"]);

        using (var signedIn = await browser.Client.GetAsync(callback))
        {
            signedIn.StatusCode.Should().Be(HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
            signedIn.Headers.Location!.OriginalString.Should().Be(authorizePath);
            var cookies = signedIn.Headers.GetValues("Set-Cookie").ToList();
            cookies.Should().Contain(c => c.StartsWith("egw-session=", StringComparison.Ordinal));
            cookies.Should().Contain(c => c.StartsWith("egw-oidc.", StringComparison.Ordinal) && c.Contains("=;", StringComparison.Ordinal), "the sign-in state is used once");
            cookies.Should().Contain(c => c.StartsWith("egw-oidc-nonce.", StringComparison.Ordinal) && c.Contains("=;", StringComparison.Ordinal), "the nonce is used once");
        }

        using (var page = await browser.Client.GetAsync(authorizePath))
        {
            var html = WebUtility.HtmlDecode(await page.Content.ReadAsStringAsync());
            page.StatusCode.Should().Be(HttpStatusCode.OK, html);
            html.Should().Contain("Leeds City Council").And.Contain(">Allow</button>");
        }

        var token = await browser.FormTokenAsync(authorizePath);
        using var allowed = await browser.Client.PostAsync(authorizePath, new FormUrlEncodedContent(EligibilityGateway.Tests.Authorization.CodeFlowDriver.DecisionForm(authorizePath, token, "allow")));
        allowed.StatusCode.Should().Be(HttpStatusCode.SeeOther, await allowed.Content.ReadAsStringAsync());
        using var toCouncil = await browser.Client.GetAsync(allowed.Headers.Location);
        toCouncil.StatusCode.Should().Be(HttpStatusCode.Redirect);
        var code = QueryHelpers.ParseQuery(toCouncil.Headers.Location!.Query)["code"].ToString();
        code.Should().NotBeEmpty();

        using var exchanged = await gateway.PostAsClientAsync("/connect/token", new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = FederatedGateway.CouncilRedirectUri,
            ["code_verifier"] = verifier,
        });
        var exchangedBody = await exchanged.Content.ReadAsStringAsync();
        exchanged.StatusCode.Should().Be(HttpStatusCode.OK, exchangedBody);
        var accessToken = JsonDocument.Parse(exchangedBody).RootElement.GetProperty("access_token").GetString()!;

        // Bound to the identity the provider verified: the consent's subject reference is Smith's, and a check under it
        // (which sends no subject) is answered for Smith by the mock departments.
        var consent = await gateway.Service<ConsentService>().FindAsync(consentId, CancellationToken.None);
        consent!.Status.Should().Be(ConsentStatus.Authorised);
        consent.SubjectReference.Should().Be(gateway.Service<SubjectReferences>().Compute(Smith));
        using var check = await gateway.SendWithTokenAsync(HttpMethod.Post, "/v1/checks", accessToken, """{"scheme":"free-school-meals","caseReference":"FSM-FEDERATED-1"}""");
        var answer = await check.Content.ReadAsStringAsync();
        check.StatusCode.Should().Be(HttpStatusCode.OK, answer);
        JsonDocument.Parse(answer).RootElement.GetProperty("outcome").GetString().Should().Be("eligible", "Smith is eligible for free school meals");

        var account = WebUtility.HtmlDecode(await browser.Client.GetStringAsync("/account"));
        account.Should().Contain("Smith").And.Contain("AB 12 34 56 C").And.Contain("1 January 1990").And.Contain(consentId);

        // The identifiers were never written to a log.
        gateway.Logs.Lines.Should().NotContain(line => line.Contains("AB123456C", StringComparison.OrdinalIgnoreCase)
            || line.Contains("AB 12 34 56 C", StringComparison.OrdinalIgnoreCase) || line.Contains("1990-01-01", StringComparison.Ordinal)
            || line.Contains("Smith", StringComparison.Ordinal));

        // Nor was the provider's authorization code, nor the state that carries the PKCE verifier.
        gateway.Logs.Lines.Should().NotContain(line => line.Contains(returned["code"].ToString(), StringComparison.Ordinal)
            || line.Contains(returned["state"].ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Session_HoldsAKeyedSubject_AndSigningOutForgetsTheIdentity()
    {
        using var browser = gateway.NewBrowser();
        var callback = await browser.SignInAtProviderAsync("smith");
        using (var signedIn = await browser.Client.GetAsync(callback))
        {
            signedIn.StatusCode.Should().Be(HttpStatusCode.Redirect);
            signedIn.Headers.Location!.OriginalString.Should().Be("/account");
        }

        var citizens = gateway.Service<FederatedCitizens>();
        var subject = citizens.SubjectOf(gateway.Provider.Issuer, "smith");
        subject.Should().StartWith("fed1:").And.NotContainAny("smith", "Smith", "AB123456C");
        citizens.Find(subject)!.Identity.Should().Be(Smith);
        (await browser.Client.GetStringAsync("/account")).Should().Contain("AB 12 34 56 C");

        var token = await browser.FormTokenAsync("/sign-out");
        using var signedOut = await browser.Client.PostAsync("/sign-out", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        signedOut.StatusCode.Should().Be(HttpStatusCode.Redirect);

        citizens.Find(subject).Should().BeNull("the identity is kept no longer than the session");
        using var account = await browser.Client.GetAsync("/account");
        account.StatusCode.Should().Be(HttpStatusCode.Redirect);
    }

    [Fact]
    public async Task SignInPage_OffersTheIdentityProvider_AndTheSandboxKeepsItsLocalAccounts()
    {
        using var browser = gateway.NewBrowser();
        var html = await browser.Client.GetStringAsync("/sign-in?returnUrl=%2Faccount");

        html.Should().Contain($"Continue to {FederatedGateway.ProviderName}").And.Contain("href=\"/sign-in/external?returnUrl=%2Faccount\"")
            .And.Contain("name=\"password\"");
        var token = await browser.FormTokenAsync("/sign-in");
        using var local = await browser.Client.PostAsync("/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["username"] = "jones",
            ["password"] = "sandbox",
        }));
        local.StatusCode.Should().Be(HttpStatusCode.Redirect);
        (await browser.Client.GetStringAsync("/account")).Should().Contain("CE 23 45 67 A");
    }

    [Theory]
    [InlineData("wrong-nonce", "nonce did not match")]
    [InlineData("wrong-issuer", "from another issuer")]
    [InlineData("wrong-audience", "for another audience")]
    [InlineData("bad-signature", "signature did not verify")]
    [InlineData("expired", "has expired")]
    [InlineData("alg-none", "signature did not verify")]
    [InlineData("no-signature", "signature did not verify")]
    [InlineData("extra-audience", "for another party")]
    [InlineData("future-iat", "iat is in the future")]
    public async Task IdTokenThatFailsACheck_IsRefusedWithAClearPage_AndSignsNobodyIn(string fault, string? reason)
    {
        using var browser = gateway.NewBrowser();
        var callback = await browser.SignInAtProviderAsync("smith~" + fault);

        using var response = await browser.Client.GetAsync(callback);

        await ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, "Sorry, we could not sign you in");
        if (reason is not null)
        {
            gateway.Logs.Lines.Should().Contain(line => line.Contains("Federated sign-in refused (Invalid)", StringComparison.Ordinal) && line.Contains(reason, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task IdTokenWithoutTheIdentifier_IsRefused_BecauseNoConsentCouldBeBoundToIt()
    {
        using var browser = gateway.NewBrowser();
        var callback = await browser.SignInAtProviderAsync("no-identity");

        using var response = await browser.Client.GetAsync(callback);

        await ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, "We could not confirm who you are");
    }

    [Fact]
    public async Task CallbackWithAnotherState_IsRefused()
    {
        using var browser = gateway.NewBrowser();
        var callback = await browser.SignInAtProviderAsync("smith");
        var query = QueryHelpers.ParseQuery(callback.Query).ToDictionary(p => p.Key, p => (string?)p.Value.ToString());
        query["state"] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

        using var response = await browser.Client.GetAsync(QueryHelpers.AddQueryString(callback.GetLeftPart(UriPartial.Path), query));

        await ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, "Sorry, we could not sign you in");
        gateway.Logs.Lines.Should().Contain(line => line.Contains("state did not match", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CallbackWithoutState_IsRefused()
    {
        using var browser = gateway.NewBrowser();
        var callback = await browser.SignInAtProviderAsync("smith");
        var query = QueryHelpers.ParseQuery(callback.Query).Where(p => p.Key != "state").ToDictionary(p => p.Key, p => (string?)p.Value.ToString());

        using var response = await browser.Client.GetAsync(QueryHelpers.AddQueryString(callback.GetLeftPart(UriPartial.Path), query));

        await ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, "Sorry, we could not sign you in");
    }

    [Fact]
    public async Task CallbackWithARepeatedParameter_IsRefused()
    {
        using var browser = gateway.NewBrowser();
        var callback = await browser.SignInAtProviderAsync("smith");
        var state = QueryHelpers.ParseQuery(callback.Query)["state"].ToString();

        using var response = await browser.Client.GetAsync(callback.AbsoluteUri + "&state=" + Uri.EscapeDataString(state));

        await ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, "Sorry, we could not sign you in");
        gateway.Logs.Lines.Should().Contain(line => line.Contains("a response parameter was repeated", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CallbackWithATamperedCode_IsRefused_WhenTheProviderRefusesIt()
    {
        using var browser = gateway.NewBrowser();
        var callback = await browser.SignInAtProviderAsync("smith");
        var query = QueryHelpers.ParseQuery(callback.Query).ToDictionary(p => p.Key, p => (string?)p.Value.ToString());
        query["code"] = query["code"] + "x";

        using var response = await browser.Client.GetAsync(QueryHelpers.AddQueryString(callback.GetLeftPart(UriPartial.Path), query));

        await ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, "Sorry, we could not sign you in");
        gateway.Logs.Lines.Should().Contain(line => line.Contains("the provider answered with an error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CallbackNamingAnotherIssuer_IsRefused_AgainstMixUp()
    {
        using var browser = gateway.NewBrowser();
        var callback = await browser.SignInAtProviderAsync("smith");
        var query = QueryHelpers.ParseQuery(callback.Query).ToDictionary(p => p.Key, p => (string?)p.Value.ToString());
        query["iss"] = "http://127.0.0.1:9";

        using var response = await browser.Client.GetAsync(QueryHelpers.AddQueryString(callback.GetLeftPart(UriPartial.Path), query));

        await ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, "Sorry, we could not sign you in");
    }

    [Fact]
    public async Task CallbackInAnotherBrowser_IsRefused_AndSoIsItsReplay()
    {
        using var started = gateway.NewBrowser();
        var callback = await started.SignInAtProviderAsync("smith");
        using var other = gateway.NewBrowser();

        using var elsewhere = await other.Client.GetAsync(callback);

        await ShouldBeRefusedAsync(other, elsewhere, HttpStatusCode.BadRequest, "Your sign-in has expired");

        using var first = await started.Client.GetAsync(callback);
        first.StatusCode.Should().Be(HttpStatusCode.Redirect, "the browser that started the sign-in completes it");
        using var replay = await gateway.NewBrowser().Client.GetAsync(callback);
        replay.StatusCode.Should().Be(HttpStatusCode.BadRequest);

        // The same browser cannot use its state twice either: the correlation cookie went with the first use.
        using var again = await started.Client.GetAsync(callback);
        var html = WebUtility.HtmlDecode(await again.Content.ReadAsStringAsync());
        again.StatusCode.Should().Be(HttpStatusCode.BadRequest, html);
        html.Should().Contain("Your sign-in has expired");
    }

    [Fact]
    public async Task CitizenWhoCancelsAtTheProvider_IsToldTheyHaveNotSignedIn()
    {
        using var browser = gateway.NewBrowser();
        var callback = await browser.SignInAtProviderAsync("smith", cancel: true);
        QueryHelpers.ParseQuery(callback.Query)["error"].ToString().Should().Be("access_denied");

        using var response = await browser.Client.GetAsync(callback);

        await ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, "You have not signed in");
    }

    private static Task ShouldBeRefusedAsync(Browser browser, HttpResponseMessage response, HttpStatusCode status, string heading) =>
        FederatedRefusal.ShouldBeRefusedAsync(browser.Client, response, status, heading);
}
