using System.Net;
using EligibilityGateway.Authorization;
using EligibilityGateway.Tests.Consents;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>
/// <c>/connect/authorize</c> checks the client and the pushed request before it asks anyone to sign in: a request that
/// cannot be used is the error page at once (400, HTML, no <c>Location</c>), never a detour through <c>/sign-in</c> to
/// be refused afterwards, and never a redirect to any redirect URI. A usable request sends a signed-out person to sign
/// in, and is still there when they come back.
/// </summary>
public sealed class AuthorizeBeforeSignInTests(ConsentGateway gateway) : IClassFixture<ConsentGateway>
{
    private const string Unusable = "This request to check your details cannot be used";

    [Theory]
    [InlineData("no parameters")]
    [InlineData("no request_uri")]
    [InlineData("no client_id")]
    [InlineData("an unknown request_uri")]
    [InlineData("an unknown client_id")]
    [InlineData("another client's request_uri")]
    [InlineData("a parameter outside PAR")]
    [InlineData("request_uri twice")]
    public async Task UnusableRequest_WhileSignedOut_IsTheErrorPageAtOnce(string kind)
    {
        using var council = new CodeFlowDriver(gateway);
        var requestUri = Uri.EscapeDataString(await council.PushAsync(council.ParParameters(await council.NewConsentAsync())));
        var path = kind switch
        {
            "no parameters" => "/connect/authorize",
            "no request_uri" => "/connect/authorize?client_id=leeds",
            "no client_id" => $"/connect/authorize?request_uri={requestUri}",
            "an unknown request_uri" => "/connect/authorize?client_id=leeds&request_uri=urn%3Aietf%3Aparams%3Aoauth%3Arequest_uri%3Aunknown",
            "an unknown client_id" => $"/connect/authorize?client_id=nobody&request_uri={requestUri}",
            "another client's request_uri" => $"/connect/authorize?client_id=camden&request_uri={requestUri}",
            "a parameter outside PAR" => $"/connect/authorize?client_id=leeds&request_uri={requestUri}&redirect_uri={Uri.EscapeDataString("https://attacker.example/cb")}",
            _ => $"/connect/authorize?client_id=leeds&request_uri={requestUri}&request_uri={requestUri}",
        };

        await ShouldBeTheErrorPageAsync(new CodeFlowDriver(gateway), path, kind);
    }

    [Fact]
    public async Task ExpiredRequest_WhileSignedOut_IsTheErrorPageAtOnce()
    {
        using var council = new CodeFlowDriver(gateway);
        var path = CodeFlowDriver.AuthorizePath(await council.PushAsync(council.ParParameters(await council.NewConsentAsync())));

        gateway.Clock.Advance(new AuthorizationServerOptions().PushedRequestLifetime + TimeSpan.FromSeconds(1));

        await ShouldBeTheErrorPageAsync(new CodeFlowDriver(gateway), path, "expired");
    }

    [Fact]
    public async Task RequestAlreadyUsed_WhileSignedOut_IsTheErrorPageAtOnce()
    {
        using var citizen = new CodeFlowDriver(gateway);
        var path = CodeFlowDriver.AuthorizePath(await citizen.PushAsync(citizen.ParParameters(await citizen.NewConsentAsync())));
        await citizen.SignInAsync(returnUrl: path);
        using var decided = await citizen.DecideAsync(path, "allow");
        await citizen.FollowToCouncilAsync(decided);

        await ShouldBeTheErrorPageAsync(new CodeFlowDriver(gateway), path, "used");
    }

    [Fact]
    public async Task UsableRequest_WhileSignedOut_GoesToSignIn_AndIsStillThereAfterwards()
    {
        using var flow = new CodeFlowDriver(gateway);
        var consentId = await flow.NewConsentAsync();
        var path = CodeFlowDriver.AuthorizePath(await flow.PushAsync(flow.ParParameters(consentId)));

        // The check before sign-in only reads the request: asking twice does not use it up.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var signedOut = await flow.Browser.GetAsync(path);
            signedOut.StatusCode.Should().Be(HttpStatusCode.Redirect, await signedOut.Content.ReadAsStringAsync());
            signedOut.Headers.Location!.PathAndQuery.Should().Be("/sign-in?returnUrl=" + Uri.EscapeDataString(path));
        }

        await flow.SignInAsync(returnUrl: path);
        using var page = await flow.Browser.GetAsync(path);
        page.StatusCode.Should().Be(HttpStatusCode.OK, "the request the sign-in returns to is still usable");
        var callback = await flow.FollowToCouncilAsync(await flow.DecideAsync(path, "allow"));
        CodeFlowDriver.Query(callback).Should().ContainKey("code");
        (await gateway.GetConsentAsync(consentId)).GetProperty("status").GetString().Should().Be("authorised");
    }

    [Fact]
    public async Task UsableRequest_ForAnAuditor_IsStillForbidden()
    {
        using var flow = new CodeFlowDriver(gateway);
        var path = CodeFlowDriver.AuthorizePath(await flow.PushAsync(flow.ParParameters(await flow.NewConsentAsync())));
        await flow.SignInAsync("auditor", returnUrl: "/");

        using var page = await flow.Browser.GetAsync(path);

        page.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        page.Headers.Location.Should().BeNull();
    }

    private static async Task ShouldBeTheErrorPageAsync(CodeFlowDriver browser, string path, string kind)
    {
        using (browser)
        {
            using var response = await browser.Browser.GetAsync(path);
            var html = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());

            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, $"{kind}: {response.Headers.Location}");
            response.Headers.Location.Should().BeNull(kind);
            response.Content.Headers.ContentType!.MediaType.Should().Be("text/html", kind);
            html.Should().Contain(Unusable, kind).And.Contain("govuk-template", kind);
        }
    }
}
