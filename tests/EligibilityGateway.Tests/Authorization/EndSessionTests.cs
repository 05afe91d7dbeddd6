using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Authorization;
using EligibilityGateway.Security;
using EligibilityGateway.Tests.Consents;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>
/// <c>/connect/endsession</c> (OpenID Connect RP-Initiated Logout 1.0 §2): only an <c>id_token_hint</c> issued to a
/// council for the citizen signed in ends the session on a GET; any other request asks the citizen, and only the
/// confirmation POST, with its antiforgery token, signs out. No other site can sign a citizen out with a link.
/// </summary>
public sealed class EndSessionTests(ConsentGateway gateway) : IClassFixture<ConsentGateway>
{
    private const string Question = "Do you want to sign out?";

    private static readonly string RegisteredRedirect = Uri.EscapeDataString(CodeFlowDriver.RedirectUri);

    private string Issuer => gateway.Gateway.Services.GetRequiredService<GatewayIssuer>().Identifier;

    [Theory]
    [InlineData("")]
    [InlineData("?client_id=leeds&state=s1&post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Fdemo%2Fcallback")]
    public async Task GetWithoutAHint_AsksWhetherToSignOut_AndLeavesTheCitizenSignedIn(string query)
    {
        using var flow = new CodeFlowDriver(gateway);
        await flow.SignInAsync();

        using var response = await flow.Browser.GetAsync("/connect/endsession" + query);
        var html = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());

        response.StatusCode.Should().Be(HttpStatusCode.OK, response.Headers.Location?.ToString());
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        html.Should().Contain(Question).And.Contain("<form method=\"post\"").And.Contain("__RequestVerificationToken");
        response.Headers.GetValues("Content-Security-Policy").Single().Should().Contain("form-action 'self'");
        await ShouldBeSignedInAsync(flow);
        gateway.Logs.Lines.Should().Contain(line => line.Contains("End-session request without a valid id_token_hint for the signed-in person (no id_token_hint was sent)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("signed with a key the gateway does not hold")]
    [InlineData("issued by another issuer")]
    [InlineData("issued to no council")]
    [InlineData("an access token, not an ID token")]
    [InlineData("issued to another council than client_id names")]
    [InlineData("issued for another citizen")]
    [InlineData("not a JWT")]
    public async Task GetWithAHintThatIsNotTheSignedInCitizens_Asks_AndLeavesTheCitizenSignedIn(string hintKind)
    {
        using var flow = new CodeFlowDriver(gateway);
        await flow.SignInAsync();
        var subject = await SmithsPairwiseSubjectAsync();
        var (hint, clientId) = hintKind switch
        {
            "signed with a key the gateway does not hold" => (Sign(IdTokenClaims("leeds", subject), ECDsa.Create(ECCurve.NamedCurves.nistP256)), "leeds"),
            "issued by another issuer" => (Sign(IdTokenClaims("leeds", subject, issuer: "https://other.example")), "leeds"),
            "issued to no council" => (Sign(IdTokenClaims("eligibility-gateway", subject)), "leeds"),
            "an access token, not an ID token" => (Sign(IdTokenClaims("leeds", subject), type: "at+jwt"), "leeds"),
            "issued to another council than client_id names" => (Sign(IdTokenClaims("leeds", subject)), "camden"),
            "issued for another citizen" => (Sign(IdTokenClaims("leeds", "someone-else")), "leeds"),
            _ => ("not-a-jwt", "leeds"),
        };

        using var response = await flow.Browser.GetAsync($"/connect/endsession?id_token_hint={hint}&client_id={clientId}&post_logout_redirect_uri={RegisteredRedirect}");

        response.StatusCode.Should().Be(HttpStatusCode.OK, $"{hintKind}: {response.Headers.Location}");
        WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync()).Should().Contain(Question);
        await ShouldBeSignedInAsync(flow);
    }

    [Fact]
    public async Task GetWithTheCouncilsRealIdTokenForAnotherCitizen_Asks()
    {
        using var smith = new CodeFlowDriver(gateway);
        var idToken = await IdTokenAsync(smith);
        using var jones = new CodeFlowDriver(gateway);
        await jones.SignInAsync("jones");

        using var response = await jones.Browser.GetAsync($"/connect/endsession?id_token_hint={idToken}&post_logout_redirect_uri={RegisteredRedirect}");

        response.StatusCode.Should().Be(HttpStatusCode.OK, response.Headers.Location?.ToString());
        WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync()).Should().Contain(Question);
        await ShouldBeSignedInAsync(jones);
    }

    [Fact]
    public async Task ConfirmationWithoutItsAntiforgeryToken_Is400GovukPage_AndSignsNobodyOut()
    {
        using var flow = new CodeFlowDriver(gateway);
        await flow.SignInAsync();

        using var forged = await flow.Browser.PostAsync("/connect/endsession", new FormUrlEncodedContent(new Dictionary<string, string>()));
        var html = WebUtility.HtmlDecode(await forged.Content.ReadAsStringAsync());

        forged.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        forged.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        html.Should().Contain("Sorry, there is a problem with the form you sent").And.Contain("govuk-template");
        await ShouldBeSignedInAsync(flow);
    }

    [Fact]
    public async Task ConfirmationWithItsAntiforgeryToken_SignsOut_AndGoesToTheStartPage_WithoutAHintToVouchForTheRedirect()
    {
        using var flow = new CodeFlowDriver(gateway);
        await flow.SignInAsync();
        var path = $"/connect/endsession?client_id=leeds&state=s1&post_logout_redirect_uri={RegisteredRedirect}";
        var token = await flow.FormTokenAsync(path);

        using var confirmed = await flow.Browser.PostAsync("/connect/endsession", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["client_id"] = "leeds",
            ["state"] = "s1",
            ["post_logout_redirect_uri"] = CodeFlowDriver.RedirectUri,
        }));

        confirmed.StatusCode.Should().Be(HttpStatusCode.SeeOther, await confirmed.Content.ReadAsStringAsync());
        confirmed.Headers.Location!.IsAbsoluteUri.Should().BeFalse("the form's response stays on the gateway, within form-action 'self'");
        using var next = await flow.Browser.GetAsync(confirmed.Headers.Location);
        next.StatusCode.Should().Be(HttpStatusCode.Redirect);
        next.Headers.Location!.ToString().Should().Be("/", "RP-Initiated Logout 1.0 §3: no post-logout redirect without a valid id_token_hint");
        await ShouldBeSignedOutAsync(flow);
    }

    [Fact]
    public async Task ConfirmationOfARequestWithAValidHintForAnotherCitizen_SignsOut_AndGoesToTheRegisteredRedirect()
    {
        using var smith = new CodeFlowDriver(gateway);
        var idToken = await IdTokenAsync(smith);
        using var jones = new CodeFlowDriver(gateway);
        await jones.SignInAsync("jones");
        var token = await jones.FormTokenAsync($"/connect/endsession?id_token_hint={idToken}&state=s2&post_logout_redirect_uri={RegisteredRedirect}");

        using var confirmed = await jones.Browser.PostAsync("/connect/endsession", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["id_token_hint"] = idToken,
            ["state"] = "s2",
            ["post_logout_redirect_uri"] = CodeFlowDriver.RedirectUri,
        }));
        using var next = await jones.Browser.GetAsync(confirmed.Headers.Location);

        confirmed.StatusCode.Should().Be(HttpStatusCode.SeeOther);
        next.Headers.Location!.ToString().Should().Be(CodeFlowDriver.RedirectUri + "?state=s2", "the hint names the council that registered the URI");
        await ShouldBeSignedOutAsync(jones);
    }

    [Fact]
    public async Task GetWithTheCitizensIdToken_SignsOutAtOnce_AndFollowsOnlyARegisteredRedirect()
    {
        using var flow = new CodeFlowDriver(gateway);
        var idToken = await IdTokenAsync(flow);
        await ShouldBeSignedInAsync(flow);

        // An ID token past its exp is still a hint (RP-Initiated Logout 1.0 §2); ours live five minutes.
        gateway.Clock.Advance(TimeSpan.FromMinutes(10));
        using var registered = await flow.Browser.GetAsync($"/connect/endsession?id_token_hint={idToken}&client_id=leeds&state=s1&post_logout_redirect_uri={RegisteredRedirect}");
        using var unregistered = await flow.Browser.GetAsync($"/connect/endsession?id_token_hint={idToken}&post_logout_redirect_uri={Uri.EscapeDataString("https://attacker.example/")}");

        registered.StatusCode.Should().Be(HttpStatusCode.Redirect);
        registered.Headers.Location!.ToString().Should().Be(CodeFlowDriver.RedirectUri + "?state=s1");
        unregistered.Headers.Location!.ToString().Should().Be("/");
        await ShouldBeSignedOutAsync(flow);
        gateway.Logs.Lines.Should().Contain(line => line.Contains("Page sign-out of a citizen at the request of council leeds", StringComparison.Ordinal));
    }

    /// <summary>Smith authorises a consent with <c>openid</c>; the council's ID token. The driver's browser stays signed in as Smith.</summary>
    private static async Task<string> IdTokenAsync(CodeFlowDriver flow)
    {
        var (_, callback) = await flow.AuthoriseAsync();
        using var exchanged = await flow.ExchangeAsync(CodeFlowDriver.Query(callback)["code"]);
        var body = await Json.ReadAsync(exchanged);
        exchanged.StatusCode.Should().Be(HttpStatusCode.OK, body.GetRawText());
        return body.GetProperty("id_token").GetString()!;
    }

    /// <summary>The <c>sub</c> the gateway gives Smith at Leeds, read from a real ID token.</summary>
    private async Task<string> SmithsPairwiseSubjectAsync()
    {
        using var flow = new CodeFlowDriver(gateway);
        var idToken = await IdTokenAsync(flow);
        return OAuthResponses.Decode(idToken).Payload.GetProperty("sub").GetString()!;
    }

    private Dictionary<string, object> IdTokenClaims(string audience, string subject, string? issuer = null)
    {
        var now = gateway.Clock.GetUtcNow().ToUnixTimeSeconds();
        return new Dictionary<string, object> { ["iss"] = issuer ?? Issuer, ["aud"] = audience, ["sub"] = subject, ["iat"] = now, ["exp"] = now + 300 };
    }

    /// <summary>A compact ES256 JWS, by default under the gateway's own active key and kid.</summary>
    private string Sign(Dictionary<string, object> claims, ECDsa? key = null, string type = "JWT")
    {
        var active = gateway.Gateway.Services.GetRequiredService<KeyRing>().ActiveSigningKey;
        var header = Base64UrlEncoder.Encode(JsonSerializer.Serialize(new Dictionary<string, string> { ["alg"] = "ES256", ["typ"] = type, ["kid"] = active.KeyId }));
        var payload = Base64UrlEncoder.Encode(JsonSerializer.Serialize(claims));
        var signature = (key ?? active.ECDsa).SignData(Encoding.ASCII.GetBytes($"{header}.{payload}"), HashAlgorithmName.SHA256);
        return $"{header}.{payload}.{Base64UrlEncoder.Encode(signature)}";
    }

    private static async Task ShouldBeSignedInAsync(CodeFlowDriver flow)
    {
        using var account = await flow.Browser.GetAsync("/account");
        account.StatusCode.Should().Be(HttpStatusCode.OK, "the citizen is still signed in");
    }

    private static async Task ShouldBeSignedOutAsync(CodeFlowDriver flow)
    {
        using var account = await flow.Browser.GetAsync("/account");
        account.StatusCode.Should().Be(HttpStatusCode.Redirect, "the page session has ended");
        account.Headers.Location!.PathAndQuery.Should().StartWith("/sign-in");
    }
}
