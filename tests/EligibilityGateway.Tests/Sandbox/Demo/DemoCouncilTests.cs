using System.Net;
using Microsoft.AspNetCore.WebUtilities;

namespace EligibilityGateway.Tests.Sandbox.Demo;

/// <summary>
/// The demo council app (<c>/demo</c>) as an OAuth client of the sandbox gateway, over real HTTP: it pushes the
/// authorization request and sends only <c>client_id</c> and <c>request_uri</c> through the browser; its callback
/// accepts only this browser's <c>state</c>, once, and only the gateway's <c>iss</c>; its forms need the session's
/// antiforgery token; its pages carry the gateway pages' headers; and no code or token stays in a URL.
/// </summary>
public sealed class DemoCouncilTests(DemoSandbox sandbox) : IClassFixture<DemoSandbox>
{
    [Fact]
    public async Task StartPage_SetsAnHttpOnlySessionCookieScopedToDemo_AndTheStrictPageHeaders()
    {
        using var browser = sandbox.NewBrowser();

        using var page = await browser.GetAsync("/demo");

        page.StatusCode.Should().Be(HttpStatusCode.OK);
        page.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        csp.Should().Contain("frame-ancestors 'none'").And.Contain("form-action 'self'").And.Contain("script-src 'self'");
        page.Headers.GetValues("X-Frame-Options").Single().Should().Be("DENY");
        page.Headers.GetValues("Referrer-Policy").Single().Should().Be("no-referrer");
        page.Headers.CacheControl!.NoStore.Should().BeTrue();
        var cookie = page.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("egw-demo=", StringComparison.Ordinal));
        cookie.Should().Contain("path=/demo").And.Contain("httponly").And.Contain("samesite=lax");
        (await page.Content.ReadAsStringAsync()).Should().Contain("Check a resident&#x27;s eligibility");
    }

    [Fact]
    public async Task StartPage_ReachedByAnotherHostName_RedirectsToTheGatewaysOwnAddress()
    {
        using var browser = sandbox.NewBrowser();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/demo");
        request.Headers.Host = "localhost:" + sandbox.Address.Port;

        using var response = await browser.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location.Should().Be(new Uri(sandbox.Address, "/demo"));
    }

    [Fact]
    public async Task Start_SendsTheBrowserToTheGatewayWithOnlyClientIdAndRequestUri()
    {
        using var browser = sandbox.NewBrowser();

        using var response = await DemoSandbox.StartAsync(browser);

        response.StatusCode.Should().Be(HttpStatusCode.SeeOther, await response.Content.ReadAsStringAsync());
        var location = response.Headers.Location!;
        location.GetLeftPart(UriPartial.Path).Should().Be(new Uri(sandbox.Address, "/connect/authorize").AbsoluteUri);
        var query = QueryHelpers.ParseQuery(location.Query);
        query.Keys.Should().BeEquivalentTo(["client_id", "request_uri"], "RFC 9126: every other parameter went over the back channel");
        query["client_id"].ToString().Should().Be("leeds");
        query["request_uri"].ToString().Should().StartWith("urn:ietf:params:oauth:request_uri:");
    }

    [Fact]
    public async Task Start_WithoutTheSessionsAntiforgeryToken_Is400AndGoesNowhere()
    {
        using var browser = sandbox.NewBrowser();
        using var other = sandbox.NewBrowser();
        var othersToken = await DemoSandbox.DemoTokenAsync(other, "/demo");
        (await DemoSandbox.DemoTokenAsync(browser, "/demo")).Should().NotBe(othersToken);

        foreach (var token in new[] { null, "", othersToken })
        {
            var form = new Dictionary<string, string> { ["council"] = "leeds", ["scheme"] = "free-school-meals", ["caseReference"] = "FSM-1" };
            if (token is not null)
            {
                form["__DemoRequestVerificationToken"] = token;
            }

            using var response = await browser.PostAsync("/demo/start", new FormUrlEncodedContent(form));

            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, $"token '{token}' is not this session's");
            response.Headers.Location.Should().BeNull();
            (await response.Content.ReadAsStringAsync()).Should().Contain("problem with the form");
        }

        // A browser without the demo's cookie has no session, so even a real token of another session is refused.
        using var cookieless = new HttpClient(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = sandbox.Address };
        using var stranger = await cookieless.PostAsync("/demo/start", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__DemoRequestVerificationToken"] = othersToken, ["council"] = "leeds", ["scheme"] = "free-school-meals", ["caseReference"] = "FSM-1",
        }));
        stranger.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Start_WithNoCaseReference_Is400NamingTheFieldInAnErrorSummary()
    {
        using var browser = sandbox.NewBrowser();

        using var response = await DemoSandbox.StartAsync(browser, caseReference: "  ");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("<title>Error: ").And.Contain("govuk-error-summary").And.Contain("Enter the case reference").And.Contain("href=\"#caseReference\"");
    }

    [Fact]
    public async Task Callback_WithAllowed_ExchangesTheCodeChecksAndShowsEligible_ThenRefusesTheSameCallbackAgain()
    {
        using var browser = sandbox.NewBrowser();
        using var start = await DemoSandbox.StartAsync(browser);
        var callback = await DemoSandbox.AuthoriseAsync(browser, start);

        callback.AbsoluteUri.Should().StartWith(sandbox.CallbackUri + "?");
        var query = QueryHelpers.ParseQuery(callback.Query);
        query["iss"].ToString().Should().Be(sandbox.Address.GetLeftPart(UriPartial.Authority) + "/");
        using var answered = await browser.GetAsync(callback);

        answered.StatusCode.Should().Be(HttpStatusCode.SeeOther, await answered.Content.ReadAsStringAsync());
        answered.Headers.Location!.OriginalString.Should().Be("/demo/answer", "the code leaves the address bar at once");
        var answer = await (await browser.GetAsync("/demo/answer")).Content.ReadAsStringAsync();
        answer.Should().Contain("Eligible for free school meals").And.Contain("Outcome <strong>eligible</strong>").And.Contain("consent");
        answer.Should().NotContain(query["code"].ToString()).And.NotContain("eyJ", "no token is ever put in a page");

        using var replay = await browser.GetAsync(callback);
        replay.StatusCode.Should().Be(HttpStatusCode.BadRequest, "the state is spent once its answer has arrived");
        (await replay.Content.ReadAsStringAsync()).Should().Contain("This answer was not for this browser");
    }

    [Fact]
    public async Task Callback_WithAnotherState_Is400AndLeavesTheGenuineAnswerUsable()
    {
        using var browser = sandbox.NewBrowser();
        using var start = await DemoSandbox.StartAsync(browser);
        var callback = await DemoSandbox.AuthoriseAsync(browser, start);
        var query = QueryHelpers.ParseQuery(callback.Query);

        using var forged = await browser.GetAsync(QueryHelpers.AddQueryString("/demo/callback", new Dictionary<string, string?>
        {
            ["code"] = query["code"], ["state"] = "not-the-state", ["iss"] = query["iss"],
        }));
        using var noState = await browser.GetAsync(QueryHelpers.AddQueryString("/demo/callback", new Dictionary<string, string?>
        {
            ["code"] = query["code"], ["iss"] = query["iss"],
        }));
        using var twoStates = await browser.GetAsync(callback.PathAndQuery + "&state=" + Uri.EscapeDataString(query["state"].ToString()));

        forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        noState.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        twoStates.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        using var genuine = await browser.GetAsync(callback);
        genuine.StatusCode.Should().Be(HttpStatusCode.SeeOther);
        (await browser.GetStringAsync("/demo/answer")).Should().Contain("Outcome <strong>eligible</strong>");
    }

    [Fact]
    public async Task Callback_InAnotherBrowser_Is400()
    {
        using var browser = sandbox.NewBrowser();
        using var start = await DemoSandbox.StartAsync(browser);
        var callback = await DemoSandbox.AuthoriseAsync(browser, start);
        using var attacker = sandbox.NewBrowser();
        (await attacker.GetAsync("/demo")).Dispose();

        using var stolen = await attacker.GetAsync(callback);

        stolen.StatusCode.Should().Be(HttpStatusCode.BadRequest, "the code came back for another browser's session");
    }

    [Theory]
    [InlineData("http://127.0.0.1:1")]
    [InlineData("")]
    [InlineData(null)]
    public async Task Callback_WithAnIssThatIsNotTheGateways_Is400AndSpendsTheState(string? iss)
    {
        using var browser = sandbox.NewBrowser();
        using var start = await DemoSandbox.StartAsync(browser);
        var callback = await DemoSandbox.AuthoriseAsync(browser, start);
        var query = QueryHelpers.ParseQuery(callback.Query);
        var parameters = new Dictionary<string, string?> { ["code"] = query["code"], ["state"] = query["state"] };
        if (iss is not null)
        {
            parameters["iss"] = iss;
        }

        using var mixedUp = await browser.GetAsync(QueryHelpers.AddQueryString("/demo/callback", parameters));

        mixedUp.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await mixedUp.Content.ReadAsStringAsync()).Should().Contain("did not come from the gateway");
        using var genuine = await browser.GetAsync(callback);
        genuine.StatusCode.Should().Be(HttpStatusCode.BadRequest, "an answer that failed a check is not retried: the state is spent");
    }

    [Fact]
    public async Task Callback_AfterDeny_ShowsThatTheResidentDidNotConsent_AndOffersNoCheck()
    {
        using var browser = sandbox.NewBrowser();
        using var start = await DemoSandbox.StartAsync(browser);
        var callback = await DemoSandbox.AuthoriseAsync(browser, start, decision: "deny");

        QueryHelpers.ParseQuery(callback.Query)["error"].ToString().Should().Be("access_denied");
        using var answered = await browser.GetAsync(callback);

        answered.StatusCode.Should().Be(HttpStatusCode.SeeOther);
        var page = await browser.GetStringAsync("/demo/answer");
        page.Should().Contain("The resident did not give consent").And.NotContain("Check again");
        var token = await DemoSandbox.DemoTokenAsync(browser, "/demo");
        using var checkAgain = await browser.PostAsync("/demo/check-again", new FormUrlEncodedContent(new Dictionary<string, string> { ["__DemoRequestVerificationToken"] = token }));
        checkAgain.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task CheckAgain_AfterTheCouncilRevokesOverTheApi_Shows409Revoked()
    {
        using var browser = sandbox.NewBrowser();
        using var start = await DemoSandbox.StartAsync(browser);
        (await browser.GetAsync(await DemoSandbox.AuthoriseAsync(browser, start))).Dispose();
        var consentId = System.Text.RegularExpressions.Regex.Match(await browser.GetStringAsync("/demo/answer"), "Consent</dt><dd class=\"govuk-summary-list__value\">([^<]+)<").Groups[1].Value;
        consentId.Should().NotBeEmpty();
        await RevokeAsCouncilAsync(consentId);

        var token = await DemoSandbox.DemoTokenAsync(browser, "/demo/answer");
        using var again = await browser.PostAsync("/demo/check-again", new FormUrlEncodedContent(new Dictionary<string, string> { ["__DemoRequestVerificationToken"] = token }));

        again.StatusCode.Should().Be(HttpStatusCode.SeeOther);
        var page = await browser.GetStringAsync("/demo/answer");
        page.Should().Contain("The gateway refused the check").And.Contain("409 Conflict").And.Contain("revoked");
    }

    [Fact]
    public async Task Start_OnASandboxWhoseFrameworkDoesNotListTheCallback_ShowsThePushedRequestRefused()
    {
        // The sandbox framework as shipped lists the callback on port 8080 only; this gateway is elsewhere, and the
        // gateway's exact redirect-URI match refuses the push. The demo says so rather than failing obscurely.
        var root = Directory.CreateTempSubdirectory("egw-demo-unlisted-").FullName;
        try
        {
            await using var host = await DemoSandbox.StartAsync(root, framework: null);
            using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = host.GatewayAddress };

            using var start = await DemoSandbox.StartAsync(browser);

            start.StatusCode.Should().Be(HttpStatusCode.SeeOther);
            start.Headers.Location!.OriginalString.Should().Be("/demo/answer");
            var page = await browser.GetStringAsync("/demo/answer");
            page.Should().Contain("Pushed authorization request (POST /connect/par)").And.Contain("invalid_request").And.Contain("redirect");
            page.Should().NotContain("Check again");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private async Task RevokeAsCouncilAsync(string consentId)
    {
        using var http = new HttpClient { BaseAddress = sandbox.Address };
        using var tokenRequest = new HttpRequestMessage(HttpMethod.Post, "/connect/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = "consents.manage" }),
        };
        tokenRequest.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("leeds:leeds-sandbox-secret"u8.ToArray()));
        using var tokenResponse = await http.SendAsync(tokenRequest);
        tokenResponse.EnsureSuccessStatusCode();
        var token = System.Text.Json.JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString();
        using var revoke = new HttpRequestMessage(HttpMethod.Delete, $"/v1/consents/{consentId}");
        revoke.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var revoked = await http.SendAsync(revoke);
        revoked.IsSuccessStatusCode.Should().BeTrue(await revoked.Content.ReadAsStringAsync());
    }
}
