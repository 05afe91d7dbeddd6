using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EligibilityGateway.Tests.Pages;

/// <summary>Page security, over real HTTP: headers on pages only, antiforgery on every POST, and the two
/// authentication worlds kept apart (a bearer token is no page session; a page session is no API credential).</summary>
public sealed partial class PageSecurityTests : IAsyncLifetime
{
    private PageGateway gateway = null!;

    public async Task InitializeAsync() => gateway = await PageGateway.StartAsync();

    public async Task DisposeAsync() => await gateway.DisposeAsync();

    [Theory]
    [InlineData("/")]
    [InlineData("/sign-in")]
    [InlineData("/sign-out")]
    public async Task Page_CarriesEverySecurityHeader(string path)
    {
        using var response = await gateway.Client.GetAsync(path);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        foreach (var directive in new[] { "default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "style-src 'self'" })
        {
            csp.Should().Contain(directive);
        }

        csp.Should().MatchRegex("script-src 'self' 'nonce-[A-Za-z0-9_-]{22}';").And.NotContain("unsafe");
        response.Headers.GetValues("X-Content-Type-Options").Single().Should().Be("nosniff");
        response.Headers.GetValues("Referrer-Policy").Single().Should().Be("no-referrer");
        response.Headers.GetValues("X-Frame-Options").Single().Should().Be("DENY");
        response.Headers.GetValues("Permissions-Policy").Single().Should().Contain("camera=()").And.Contain("geolocation=()");
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
    }

    [Fact]
    public async Task Page_NonceIsFreshPerRequestAndOnTheOnlyInlineScript()
    {
        var (first, firstNonce) = await PageWithNonceAsync();
        var (_, secondNonce) = await PageWithNonceAsync();

        firstNonce.Should().NotBe(secondNonce);
        InlineScript().Matches(first).Select(m => m.Groups[1].Value).Should().Equal($" nonce=\"{firstNonce}\"");
    }

    [Fact]
    public async Task Page_IsTheGovukTemplateInBritishEnglishWithTitleSkipLinkAndSandboxBanner()
    {
        var html = await gateway.Client.GetStringAsync("/sign-in");

        html.Should().Contain("<html lang=\"en-GB\" class=\"govuk-template\">")
            .And.Contain("<title>Sign in – Eligibility Gateway</title>")
            .And.Contain("<a href=\"#main-content\" class=\"govuk-skip-link\"")
            .And.Contain("govuk-phase-banner").And.Contain(">Sandbox</strong>")
            .And.Contain("<link rel=\"stylesheet\" href=\"/govuk/govuk-frontend.min.css\">")
            .And.Contain("<link rel=\"stylesheet\" href=\"/gateway.css\">");
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/.well-known/openid-configuration")]
    [InlineData("/connect/jwks")]
    public async Task Api_DoesNotGetThePageHeaders(string path)
    {
        using var response = await gateway.Client.GetAsync(path);

        response.IsSuccessStatusCode.Should().BeTrue();
        response.Headers.Contains("Content-Security-Policy").Should().BeFalse();
        response.Headers.Contains("Permissions-Policy").Should().BeFalse();
        response.Headers.Contains("Referrer-Policy").Should().BeFalse();
        response.Headers.Contains("Set-Cookie").Should().BeFalse();
    }

    [Theory]
    [InlineData("/govuk/govuk-frontend.min.css", "text/css")]
    [InlineData("/govuk/govuk-frontend.min.js", "text/javascript")]
    [InlineData("/gateway.mjs", "text/javascript")]
    [InlineData("/gateway.css", "text/css")]
    [InlineData("/icon.svg", "image/svg+xml")]
    [InlineData("/assets/fonts/bold-b542beb274-v2.woff2", "font/woff2")]
    [InlineData("/assets/images/govuk-crest.svg", "image/svg+xml")]
    public async Task GovukFrontendAsset_IsServedFromTheBuildWithNosniff(string path, string mediaType)
    {
        using var response = await gateway.Client.GetAsync(path);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be(mediaType);
        response.Headers.GetValues("X-Content-Type-Options").Single().Should().Be("nosniff");
        (await response.Content.ReadAsByteArrayAsync()).Should().NotBeEmpty();
    }

    [Fact]
    public async Task Post_WithoutAnAntiforgeryToken_Is400WithAGovukErrorPage()
    {
        using var response = await gateway.Client.PostAsync("/sign-in", Form(("username", "smith"), ("password", PageGateway.Password)));

        await ShouldBeFormRefusedAsync(response);
    }

    [Fact]
    public async Task Post_WithAWrongAntiforgeryToken_Is400()
    {
        var token = await PageGateway.AntiforgeryTokenAsync(gateway.Client, "/sign-in");
        var forged = token[..^4] + (token.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");

        using var response = await gateway.Client.PostAsync("/sign-in", Form(("__RequestVerificationToken", forged), ("username", "smith"), ("password", PageGateway.Password)));

        await ShouldBeFormRefusedAsync(response);
    }

    [Fact]
    public async Task Post_WithAnotherBrowsersToken_Is400()
    {
        using var other = gateway.NewClient(new CookieContainer());
        var othersToken = await PageGateway.AntiforgeryTokenAsync(other, "/sign-in");
        await PageGateway.AntiforgeryTokenAsync(gateway.Client, "/sign-in");

        using var response = await gateway.Client.PostAsync("/sign-in", Form(("__RequestVerificationToken", othersToken), ("username", "smith"), ("password", PageGateway.Password)));

        await ShouldBeFormRefusedAsync(response);
    }

    [Fact]
    public async Task SignOut_WithoutAnAntiforgeryToken_Is400AndKeepsTheSession()
    {
        (await PageGateway.SignInAsync(gateway.Client, "smith", PageGateway.Password)).StatusCode.Should().Be(HttpStatusCode.Redirect);

        using var response = await gateway.Client.PostAsync("/sign-out", Form());

        await ShouldBeFormRefusedAsync(response);
        (await gateway.Client.GetAsync("/account")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Cookies_AreHttpOnlySameSiteAndNotSecureOverPlainHttp()
    {
        using var signIn = await PageGateway.SignInAsync(gateway.Client, "smith", PageGateway.Password);

        var session = signIn.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("egw-session=", StringComparison.Ordinal)).ToLowerInvariant();
        session.Should().Contain("httponly").And.Contain("samesite=lax").And.Contain("path=/").And.NotContain("secure").And.NotContain("expires=");
        session.Should().NotContain("smith").And.NotContain("ab123456c");

        using var page = await gateway.NewClient(new CookieContainer()).GetAsync("/sign-in");
        var antiforgery = page.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("egw-csrf=", StringComparison.Ordinal)).ToLowerInvariant();
        antiforgery.Should().Contain("httponly").And.Contain("samesite=strict").And.Contain("path=/");
    }

    [Fact]
    public async Task BearerToken_DoesNotSignInToPages()
    {
        var token = await AuditorTokenAsync();

        using var start = await SendWithBearerAsync("/", token);
        (await start.Content.ReadAsStringAsync()).Should().Contain("govuk-button--start").And.NotContain("You are signed in");

        using var account = await SendWithBearerAsync("/account", token);
        account.StatusCode.Should().Be(HttpStatusCode.Redirect);
        account.Headers.Location!.AbsolutePath.Should().Be("/sign-in");
    }

    [Fact]
    public async Task PageSession_DoesNotAuthoriseTheApi()
    {
        (await PageGateway.SignInAsync(gateway.Client, "auditor", PageGateway.Password)).StatusCode.Should().Be(HttpStatusCode.Redirect);

        using var check = await gateway.Client.GetAsync("/v1/checks/00000000000000000000000000");

        check.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        check.Headers.WwwAuthenticate.Should().ContainSingle().Which.Scheme.Should().Be("Bearer");
    }

    private async Task<(string Html, string Nonce)> PageWithNonceAsync()
    {
        using var response = await gateway.Client.GetAsync("/");
        var csp = response.Headers.GetValues("Content-Security-Policy").Single();
        var nonce = Regex.Match(csp, "'nonce-([^']+)'").Groups[1].Value;
        return (await response.Content.ReadAsStringAsync(), nonce);
    }

    private async Task<string> AuditorTokenAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token") { Content = Form(("grant_type", "client_credentials")) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("auditor:auditor-sandbox-secret")));
        using var response = await gateway.Client.SendAsync(request);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("access_token").GetString()!;
    }

    private async Task<HttpResponseMessage> SendWithBearerAsync(string path, string token)
    {
        using var client = gateway.NewClient(new CookieContainer());
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await client.SendAsync(request);
    }

    private static async Task ShouldBeFormRefusedAsync(HttpResponseMessage response)
    {
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        response.Headers.GetValues("Content-Security-Policy").Single().Should().Contain("frame-ancestors 'none'");
        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("Sorry, there is a problem with the form you sent").And.Contain("govuk-template");
        response.Headers.TryGetValues("Set-Cookie", out var cookies);
        (cookies ?? []).Should().NotContain(c => c.StartsWith("egw-session=", StringComparison.Ordinal) && !c.Contains("expires=Thu, 01 Jan 1970", StringComparison.Ordinal));
    }

    private static FormUrlEncodedContent Form(params (string Name, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));

    [GeneratedRegex("<script(?![^>]*\\bsrc=)([^>]*)>")]
    private static partial Regex InlineScript();
}
