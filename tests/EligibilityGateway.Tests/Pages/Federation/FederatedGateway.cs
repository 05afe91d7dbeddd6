using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EligibilityGateway.Authorization;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.EndToEnd;
using EligibilityGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using MockCentralGovernment;

namespace EligibilityGateway.Tests.Pages.Federation;

/// <summary>
/// The mock central government, oidc-provider as the citizens' identity provider and the gateway federated to it, each
/// on a free loopback port and speaking real HTTP. The gateway authenticates to the provider with
/// <c>private_key_jwt</c> (a fresh EC key) or <c>client_secret_basic</c>; every log line it writes is kept.
/// </summary>
public abstract partial class FederatedGateway(string? frameworkPath, bool privateKeyJwt) : IAsyncLifetime
{
    public const string ClientId = "eligibility-gateway";
    public const string ClientSecret = "gateway-secret-at-the-identity-provider";
    public const string ProviderName = "Test One Login";
    public const string CouncilRedirectUri = "http://127.0.0.1:8080/demo/callback";

    private readonly ECDsa clientKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private WebApplication mock = null!;

    internal string DataDirectory { get; } = Directory.CreateTempSubdirectory("egw-federation-").FullName;

    internal IdentityProviderProcess Provider { get; private set; } = null!;

    internal WebApplication Gateway { get; private set; } = null!;

    internal Uri Address { get; private set; } = null!;

    internal LogCapture Logs { get; } = new();

    internal HttpClient Http { get; } = new();

    public async Task InitializeAsync()
    {
        Provider = await IdentityProviderProcess.StartAsync();
        mock = MockGovernmentApplication.Build([], b => b.Configuration["MockCentralGovernment:Population:Size"] = "0");
        var mockAddress = await mock.StartOnFreePortAsync();

        var keyPath = Path.Combine(DataDirectory, "identity-provider-client.pem");
        await File.WriteAllTextAsync(keyPath, clientKey.ExportPkcs8PrivateKeyPem());
        var settings = new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft"] = "Trace",
            ["Logging:LogLevel:System"] = "Trace",
            ["IdentityProvider:Authority"] = Provider.Issuer,
            ["IdentityProvider:ClientId"] = ClientId,
            ["IdentityProvider:Scope"] = "identity",
            ["IdentityProvider:DisplayName"] = ProviderName,
        };
        if (privateKeyJwt)
        {
            settings["IdentityProvider:ClientKeyPath"] = keyPath;
            settings["IdentityProvider:ClientKeyId"] = "gateway-1";
        }
        else
        {
            settings["IdentityProvider:ClientSecret"] = ClientSecret;
        }

        if (frameworkPath is not null)
        {
            settings["TrustFramework:Path"] = frameworkPath;
        }

        Gateway = TestGateway.Build(DataDirectory, settings, b => b.Logging.AddProvider(Logs), mockAddress);
        Address = await Gateway.StartOnFreePortAsync();
        await Provider.RegisterClientsAsync(ClientMetadata());
    }

    private object ClientMetadata()
    {
        var redirectUris = new[] { Url("/sign-in/callback").AbsoluteUri };
        if (!privateKeyJwt)
        {
            return new Dictionary<string, object>
            {
                ["client_id"] = ClientId,
                ["client_secret"] = ClientSecret,
                ["token_endpoint_auth_method"] = "client_secret_basic",
                ["redirect_uris"] = redirectUris,
                ["response_types"] = new[] { "code" },
                ["grant_types"] = new[] { "authorization_code" },
                ["scope"] = "openid identity",
            };
        }

        var point = clientKey.ExportParameters(includePrivateParameters: false).Q;
        return new Dictionary<string, object>
        {
            ["client_id"] = ClientId,
            ["token_endpoint_auth_method"] = "private_key_jwt",
            ["token_endpoint_auth_signing_alg"] = "ES256",
            ["jwks"] = new { keys = new[] { new { kty = "EC", crv = "P-256", kid = "gateway-1", x = Base64UrlEncoder.Encode(point.X), y = Base64UrlEncoder.Encode(point.Y) } } },
            ["redirect_uris"] = redirectUris,
            ["response_types"] = new[] { "code" },
            ["grant_types"] = new[] { "authorization_code" },
            ["scope"] = "openid identity",
        };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Gateway.StopAsync();
        await Gateway.DisposeAsync();
        await mock.StopAsync();
        await mock.DisposeAsync();
        await Provider.DisposeAsync();
        clientKey.Dispose();
        Directory.Delete(DataDirectory, recursive: true);
    }

    internal Uri Url(string path) => new(Address, path);

    internal T Service<T>()
        where T : notnull => Gateway.Services.GetRequiredService<T>();

    /// <summary>A citizen's browser: its own cookies (for the gateway and the provider), redirects not followed.</summary>
    internal Browser NewBrowser() => new(this);

    internal async Task<HttpResponseMessage> PostAsClientAsync(string path, IDictionary<string, string> form, string client = "leeds")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Url(path)) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{client}:{client}-sandbox-secret")));
        return await Http.SendAsync(request);
    }

    internal async Task<string> ClientTokenAsync(string scope)
    {
        using var response = await PostAsClientAsync("/connect/token", new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = scope });
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
    }

    internal async Task<HttpResponseMessage> SendWithTokenAsync(HttpMethod method, string path, string token, string? json = null)
    {
        using var request = new HttpRequestMessage(method, Url(path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return await Http.SendAsync(request);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    internal static partial Regex AntiforgeryToken();

    [GeneratedRegex("<form method=\"post\" action=\"([^\"]+/login)\">")]
    internal static partial Regex ProviderLoginForm();

    [GeneratedRegex("<form method=\"post\" action=\"([^\"]+/abort)\">")]
    internal static partial Regex ProviderCancelForm();

    [GeneratedRegex("<a href=\"([^\"]+)\"[^>]*id=\"sign-in-external\"")]
    internal static partial Regex ExternalSignInLink();
}

/// <summary>The sandbox framework (local accounts too), the gateway authenticating to the provider with <c>private_key_jwt</c>.</summary>
public sealed class SandboxFederatedGateway() : FederatedGateway(frameworkPath: null, privateKeyJwt: true);

/// <summary>
/// A citizen's browser between the gateway and the identity provider. Both are on 127.0.0.1, so one cookie jar serves
/// both, as in a real browser (cookies do not separate by port).
/// </summary>
internal sealed class Browser(FederatedGateway gateway) : IDisposable
{
    private readonly HttpClient client = new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false, UseCookies = true })
    {
        BaseAddress = gateway.Address,
    };

    public HttpClient Client => client;

    /// <summary>The first request the browser made to the identity provider: the authorization request the gateway built.</summary>
    public Uri? ProviderAuthorizationRequest { get; private set; }

    /// <summary>
    /// From the gateway's sign-in page through the provider: the <i>Continue to</i> link, the provider's login form with
    /// <paramref name="login"/> (or its Cancel button), and every redirect up to the gateway's callback, which is returned
    /// unvisited so that a test may alter it.
    /// </summary>
    public async Task<Uri> SignInAtProviderAsync(string login, string? returnUrl = null, bool cancel = false)
    {
        var signInPath = returnUrl is null ? "/sign-in" : "/sign-in?returnUrl=" + Uri.EscapeDataString(returnUrl);
        var page = await client.GetStringAsync(signInPath);
        var link = FederatedGateway.ExternalSignInLink().Match(page);
        link.Success.Should().BeTrue("the sign-in page offers the identity provider");
        return await FollowToCallbackAsync(new Uri(gateway.Address, WebUtility.HtmlDecode(link.Groups[1].Value)), login, cancel);
    }

    /// <summary>Follows redirects from <paramref name="start"/>, filling in the provider's login form, until the gateway's callback.</summary>
    public async Task<Uri> FollowToCallbackAsync(Uri start, string login, bool cancel = false)
    {
        var next = start;
        HttpContent? form = null;
        for (var hop = 0; hop < 20; hop++)
        {
            if (next.AbsolutePath == "/sign-in/callback" && next.Authority == gateway.Address.Authority)
            {
                return next;
            }

            if (ProviderAuthorizationRequest is null && next.Authority != gateway.Address.Authority)
            {
                ProviderAuthorizationRequest = next;
            }

            using var response = form is null ? await client.GetAsync(next) : await client.PostAsync(next, form);
            form = null;
            if ((int)response.StatusCode is >= 300 and < 400)
            {
                next = new Uri(next, response.Headers.Location!);
                continue;
            }

            var html = await response.Content.ReadAsStringAsync();
            response.StatusCode.Should().Be(HttpStatusCode.OK, $"{next} answered {html} (provider: {gateway.Provider.Errors})");
            var action = (cancel ? FederatedGateway.ProviderCancelForm() : FederatedGateway.ProviderLoginForm()).Match(html);
            action.Success.Should().BeTrue($"the provider shows its login form at {next}: {html}");
            next = new Uri(next, action.Groups[1].Value);
            form = new FormUrlEncodedContent(new Dictionary<string, string> { ["login"] = login });
        }

        throw new InvalidOperationException("Too many redirects before the gateway's callback.");
    }

    /// <summary>The antiforgery token of the form on <paramref name="path"/>.</summary>
    public async Task<string> FormTokenAsync(string path)
    {
        using var response = await client.GetAsync(path);
        var html = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, html);
        var match = FederatedGateway.AntiforgeryToken().Match(html);
        match.Success.Should().BeTrue("the form carries an antiforgery token");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    public void Dispose() => client.Dispose();
}

/// <summary>What every refused federated sign-in must look like to the citizen.</summary>
internal static class FederatedRefusal
{
    /// <summary>
    /// A GOV.UK page with <paramref name="heading"/> and the pages' security headers, answered with
    /// <paramref name="status"/>; no session cookie, and the browser is still signed out afterwards.
    /// </summary>
    public static async Task ShouldBeRefusedAsync(HttpClient browser, HttpResponseMessage response, HttpStatusCode status, string heading)
    {
        var html = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync());
        response.StatusCode.Should().Be(status, html);
        html.Should().Contain($"<h1 class=\"govuk-heading-l\">{heading}</h1>").And.Contain($"<title>{heading} – Eligibility Gateway</title>");
        response.Headers.GetValues("Content-Security-Policy").Single().Should().Contain("frame-ancestors 'none'");
        (response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : []).Should().NotContain(c => c.StartsWith("egw-session=", StringComparison.Ordinal));
        using var account = await browser.GetAsync("/account");
        account.StatusCode.Should().Be(HttpStatusCode.Redirect, "nobody is signed in");
    }
}
