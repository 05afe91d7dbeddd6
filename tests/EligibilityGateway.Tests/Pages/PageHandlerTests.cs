using System.Net;
using EligibilityGateway.Tests.EndToEnd;

namespace EligibilityGateway.Tests.Pages;

/// <summary>
/// Requests, with a valid antiforgery token, that name no handler the page has, over real HTTP against the sandbox:
/// a form naming an action the page does not have is the GOV.UK 400 page, a method the page does not take at all the
/// GOV.UK 405 page with <c>Allow</c> (RFC 9110 §15.5.6); never a 500 and never a problem document.
/// </summary>
public sealed class PageHandlerTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>
{
    private const string FormProblem = "Sorry, there is a problem with the form you sent";
    private const string UnknownAction = "The form did not say what to do, or asked for something this page does not do.";

    [Theory]
    [InlineData("auditor", "/audit")]
    [InlineData("auditor", "/audit?handler=")]
    [InlineData("auditor", "/audit?handler=nope")]
    [InlineData("auditor", "/audit?handler=export")]
    [InlineData("smith", "/account")]
    [InlineData("smith", "/account?handler=")]
    [InlineData("smith", "/account?handler=nope")]
    public async Task Post_WithAMissingEmptyOrUnknownHandler_ToAPageWithNamedHandlers_IsTheGovUkFormPage400(string username, string path)
    {
        using var browser = await SignedInAsync(username);
        var token = await PageGateway.AntiforgeryTokenAsync(browser, "/sign-out");

        using var response = await browser.PostAsync(path, Form(token));
        using var forged = await browser.PostAsync(path, Form("CfDJ8forged"));

        await AssertUnknownFormActionAsync(response);
        forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await forged.Content.ReadAsStringAsync()).Should().Contain("This happens when a page has been open for a long time")
            .And.NotContain(UnknownAction, "without a valid token the form is refused as expired, before any handler is looked for");
    }

    [Theory]
    [InlineData(null, "/sign-in?handler=nope")]
    [InlineData("smith", "/sign-out?handler=nope")]
    [InlineData("smith", "/connect/authorize?handler=nope")]
    public async Task Post_WithAnUnknownHandler_ToAPageWithAnUnnamedHandler_IsTheGovUkFormPage400_AndDoesNotRunIt(string? username, string path)
    {
        using var browser = username is null ? Browser() : await SignedInAsync(username);
        var token = await PageGateway.AntiforgeryTokenAsync(browser, username is null ? "/sign-in" : "/sign-out");

        using var response = await browser.PostAsync(path, Form(token, ("username", "smith"), ("password", PageGateway.Password), ("decision", "allow")));

        await AssertUnknownFormActionAsync(response);
        response.Headers.Contains("Set-Cookie").Should().BeFalse("neither a sign-in nor a sign-out ran");
        if (username is not null)
        {
            using var account = await browser.GetAsync("/account");
            account.StatusCode.Should().Be(HttpStatusCode.OK, "the session is still signed in");
        }
    }

    [Theory]
    [InlineData("POST", "/", "GET, HEAD")]
    [InlineData("POST", "/account/consents/00000000-0000-0000-0000-000000000000/receipt", "GET, HEAD")]
    [InlineData("POST", "/connect/authorize/continue", "GET, HEAD")]
    [InlineData("POST", "/sign-in/external", "GET, HEAD")]
    [InlineData("POST", "/sign-in/callback", "GET, HEAD")]
    [InlineData("PUT", "/audit", "GET, HEAD, POST")]
    [InlineData("DELETE", "/account", "GET, HEAD, POST")]
    [InlineData("PATCH", "/sign-in", "GET, HEAD, POST")]
    public async Task Request_WithAMethodThePageDoesNotTake_IsTheGovUkPage405_WithAllow(string method, string path, string allow)
    {
        using var browser = await SignedInAsync(path.StartsWith("/audit", StringComparison.Ordinal) ? "auditor" : "smith");
        var token = await PageGateway.AntiforgeryTokenAsync(browser, "/sign-out");

        using var response = await browser.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Form(token) });

        var html = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.MethodNotAllowed, html);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        string.Join(", ", response.Content.Headers.Allow).Should().Be(allow);
        html.Should().Contain("<h1 class=\"govuk-heading-l\">Sorry, this page cannot do that</h1>");
        html.Should().Contain("<title>Sorry, this page cannot do that – Eligibility Gateway</title>");
    }

    private static async Task AssertUnknownFormActionAsync(HttpResponseMessage response)
    {
        var html = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, html);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html", "a page answers with a page, not a problem document");
        html.Should().Contain($"<h1 class=\"govuk-heading-l\">{FormProblem}</h1>").And.Contain(UnknownAction);
        response.Content.Headers.Allow.Should().BeEmpty("the page takes this method, with another handler");
    }

    private static FormUrlEncodedContent Form(string token, params (string Name, string Value)[] fields) =>
        new(new Dictionary<string, string>(fields.Select(f => KeyValuePair.Create(f.Name, f.Value))) { ["__RequestVerificationToken"] = token });

    private HttpClient Browser() =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = false }) { BaseAddress = sandbox.Sandbox.GatewayAddress };

    /// <summary>A new browser signed in as <paramref name="username"/> (a citizen lands on /account, an auditor on /audit).</summary>
    private async Task<HttpClient> SignedInAsync(string username)
    {
        var browser = Browser();
        using var response = await PageGateway.SignInAsync(browser, username, PageGateway.Password);
        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        return browser;
    }
}
