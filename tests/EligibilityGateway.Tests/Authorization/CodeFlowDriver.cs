using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EligibilityGateway.Tests.Consents;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>
/// Plays a council and a citizen's browser through the authorization-code flow against a running gateway: PAR with
/// <c>client_secret_basic</c>, <c>/connect/authorize</c> with a cookie-carrying client that signs in and presses a
/// button, and the code exchange. Every step returns the raw response for the test to judge.
/// </summary>
internal sealed partial class CodeFlowDriver(ConsentGateway gateway) : IDisposable
{
    public const string RedirectUri = "http://127.0.0.1:8080/demo/callback";

    private readonly CookieContainer cookies = new();
    private HttpClient? browser;

    /// <summary>The citizen's browser: its own cookies, redirects not followed so that each hop can be seen.</summary>
    public HttpClient Browser => browser ??= new HttpClient(new HttpClientHandler { CookieContainer = cookies, AllowAutoRedirect = false, UseCookies = true })
    {
        BaseAddress = gateway.Address,
    };

    public string Verifier { get; } = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    public string Challenge => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(Verifier)));

    public static string Details(string consentId) => $$"""[{"type":"eligibility-check","consent_id":"{{consentId}}"}]""";

    /// <summary>A new consent of <paramref name="client"/> awaiting authorisation.</summary>
    public async Task<string> NewConsentAsync(string client = "leeds") =>
        (await gateway.CreateConsentAsync(client: client)).GetProperty("consentId").GetString()!;

    /// <summary>The parameters of a well-formed PAR request for <paramref name="consentId"/>, to alter per test.</summary>
    public Dictionary<string, string> ParParameters(string consentId) => new()
    {
        ["response_type"] = "code",
        ["client_id"] = "leeds",
        ["redirect_uri"] = RedirectUri,
        ["scope"] = "openid eligibility.check",
        ["state"] = "state-" + consentId,
        ["nonce"] = "nonce-1",
        ["code_challenge"] = Challenge,
        ["code_challenge_method"] = "S256",
        ["authorization_details"] = Details(consentId),
    };

    public Task<HttpResponseMessage> PostAsync(string path, IDictionary<string, string> form, string client = "leeds")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, gateway.Url(path)) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{client}:{client}-sandbox-secret")));
        return gateway.Http.SendAsync(request);
    }

    /// <summary>Pushes the request and returns its <c>request_uri</c>; fails the test unless PAR answers 201.</summary>
    public async Task<string> PushAsync(IDictionary<string, string> parameters, string client = "leeds")
    {
        using var response = await PostAsync("/connect/par", parameters, client);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("request_uri").GetString()!;
    }

    public static string AuthorizePath(string requestUri, string client = "leeds") =>
        $"/connect/authorize?client_id={Uri.EscapeDataString(client)}&request_uri={Uri.EscapeDataString(requestUri)}";

    /// <summary>Signs in as <paramref name="username"/> by posting the sign-in form with its antiforgery token.</summary>
    public async Task SignInAsync(string username = "smith", string returnUrl = "/account")
    {
        var token = await FormTokenAsync("/sign-in?returnUrl=" + Uri.EscapeDataString(returnUrl));
        using var response = await Browser.PostAsync("/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["username"] = username,
            ["password"] = "sandbox",
            ["returnUrl"] = returnUrl,
        }));
        response.StatusCode.Should().Be(HttpStatusCode.Redirect, "a correct sign-in redirects to the return path");
    }

    /// <summary>Presses Allow or Deny on the consent page at <paramref name="authorizePath"/>; returns the 303.</summary>
    public async Task<HttpResponseMessage> DecideAsync(string authorizePath, string decision)
    {
        var token = await FormTokenAsync(authorizePath);
        return await Browser.PostAsync(authorizePath, new FormUrlEncodedContent(DecisionForm(authorizePath, token, decision)));
    }

    /// <summary>
    /// What the consent page's form posts: its antiforgery token, the button pressed, and the hidden <c>client_id</c> and
    /// <c>request_uri</c> (the authorization endpoint reads a POST's parameters from its body), taken from the page's address.
    /// </summary>
    public static Dictionary<string, string> DecisionForm(string authorizePath, string token, string decision)
    {
        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(new Uri("http://localhost"), authorizePath).Query);
        return new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["client_id"] = query["client_id"].ToString(),
            ["request_uri"] = query["request_uri"].ToString(),
            ["decision"] = decision,
        };
    }

    /// <summary>Follows the 303 to the local continuation and returns where it redirects (the council's callback).</summary>
    public async Task<Uri> FollowToCouncilAsync(HttpResponseMessage seeOther)
    {
        seeOther.StatusCode.Should().Be(HttpStatusCode.SeeOther, await seeOther.Content.ReadAsStringAsync());
        seeOther.Headers.Location!.IsAbsoluteUri.Should().BeFalse("the form's response stays on the gateway, within form-action 'self'");
        using var redirect = await Browser.GetAsync(seeOther.Headers.Location);
        redirect.StatusCode.Should().Be(HttpStatusCode.Redirect);
        return redirect.Headers.Location!;
    }

    /// <summary>The whole front channel for a new consent: PAR, sign in, the consent page, the button; the council callback.</summary>
    public async Task<(string ConsentId, Uri Callback)> AuthoriseAsync(string decision = "allow")
    {
        var consentId = await NewConsentAsync();
        var requestUri = await PushAsync(ParParameters(consentId));
        var path = AuthorizePath(requestUri);
        using (var unsigned = await Browser.GetAsync(path))
        {
            unsigned.StatusCode.Should().Be(HttpStatusCode.Redirect);
            unsigned.Headers.Location!.PathAndQuery.Should().StartWith("/sign-in?returnUrl=");
        }

        await SignInAsync(returnUrl: path);
        using var seeOther = await DecideAsync(path, decision);
        return (consentId, await FollowToCouncilAsync(seeOther));
    }

    public static Dictionary<string, string> Query(Uri callback) =>
        QueryHelpers.ParseQuery(callback.Query).ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);

    public Task<HttpResponseMessage> ExchangeAsync(string code, string? verifier = null, string redirectUri = RedirectUri, string client = "leeds") =>
        PostAsync("/connect/token", new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = redirectUri,
            ["code_verifier"] = verifier ?? Verifier,
        }, client);

    /// <summary>The antiforgery token of the form on <paramref name="path"/>.</summary>
    public async Task<string> FormTokenAsync(string path)
    {
        using var response = await Browser.GetAsync(path);
        var html = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, html);
        var match = TokenPattern().Match(html);
        match.Success.Should().BeTrue("the form carries an antiforgery token");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    public void Dispose() => browser?.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
