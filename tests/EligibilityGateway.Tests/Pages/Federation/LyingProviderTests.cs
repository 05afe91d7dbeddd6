using System.Net;
using System.Security.Cryptography;
using EligibilityGateway.Pages;
using EligibilityGateway.Tests.EndToEnd;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.Pages.Federation;

/// <summary>
/// The gateway federated to <see cref="LyingIdentityProvider"/> (client_secret_basic), on a clock the tests move, every
/// log line kept. One per test class; tests only move the clock forwards.
/// </summary>
public sealed class LyingProviderGateway : IAsyncLifetime
{
    internal LyingIdentityProvider Provider { get; } = new();

    internal FakeTimeProvider Clock { get; } = new(TimeProvider.System.GetUtcNow());

    internal LogCapture Logs { get; } = new();

    internal string DataDirectory { get; } = Directory.CreateTempSubdirectory("egw-lying-provider-").FullName;

    internal WebApplication Gateway { get; private set; } = null!;

    internal Uri Address { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Gateway = Build(Provider.Issuer, DataDirectory, Logs, Clock);
        Address = await Gateway.StartOnFreePortAsync();
    }

    /// <summary>A gateway whose <c>IdentityProvider:Authority</c> is <paramref name="authority"/>.</summary>
    internal static WebApplication Build(string authority, string dataDirectory, LogCapture logs, TimeProvider clock) =>
        TestGateway.Build(
            dataDirectory,
            new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Trace",
                ["IdentityProvider:Authority"] = authority,
                ["IdentityProvider:ClientId"] = FederatedGateway.ClientId,
                ["IdentityProvider:ClientSecret"] = FederatedGateway.ClientSecret,
                ["IdentityProvider:Scope"] = "identity",
                ["IdentityProvider:DisplayName"] = FederatedGateway.ProviderName,
            },
            b =>
            {
                b.Services.AddSingleton(clock);
                b.Logging.AddProvider(logs);
            });

    /// <summary>A citizen's browser: its own cookies, redirects not followed.</summary>
    internal HttpClient NewBrowser() =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false, UseCookies = true }) { BaseAddress = Address };

    public async Task DisposeAsync()
    {
        await Gateway.StopAsync();
        await Gateway.DisposeAsync();
        Provider.Dispose();
        Directory.Delete(DataDirectory, recursive: true);
    }
}

/// <summary>
/// A provider that lies to the gateway's federated sign-in — an ID token signed by a key it does not publish, naming
/// another issuer, audience or nonce, or none, or expired; a token response that is not JSON; a discovery document
/// claiming another issuer — is refused with a GOV.UK page, never a 500, and signs nobody in. The same provider telling
/// the truth signs the citizen in, so each refusal is the lie's doing.
/// </summary>
public sealed class LyingProviderTests(LyingProviderGateway gateway) : IClassFixture<LyingProviderGateway>
{
    private const string NotSignedIn = "Sorry, we could not sign you in";

    [Fact]
    public async Task TruthfulProvider_SignsTheCitizenIn_WithTheCodeRedeemedAtItsTokenEndpoint()
    {
        using var browser = gateway.NewBrowser();
        var signIn = await StartSignInAsync(browser);
        gateway.Provider.AnswerTokenRequest(signIn.Code, LyingIdentityProvider.TokenResponse(gateway.Provider.IdToken(gateway.Clock.GetUtcNow(), signIn.Nonce)));

        using var response = await browser.GetAsync(signIn.Callback);

        response.StatusCode.Should().Be(HttpStatusCode.Redirect, await response.Content.ReadAsStringAsync());
        response.Headers.Location!.OriginalString.Should().Be("/account");
        WebUtility.HtmlDecode(await browser.GetStringAsync("/account")).Should().Contain("AB 12 34 56 C").And.Contain("1 January 1990");
        var redeemed = gateway.Provider.LastTokenRequest();
        redeemed["grant_type"].Should().Be("authorization_code");
        redeemed["code"].Should().Be(signIn.Code);
        redeemed["redirect_uri"].Should().Be(new Uri(gateway.Address, FederatedSignIn.CallbackPath).AbsoluteUri);
        redeemed["code_verifier"].Should().HaveLength(43, "RFC 7636: the verifier behind the S256 challenge");
        redeemed.Should().NotContainKey("client_secret", "client_secret_basic puts the secret in the Authorization header");
        gateway.Logs.Lines.Should().NotContain(line => line.Contains("AB 12 34 56 C", StringComparison.Ordinal) || line.Contains("AB123456C", StringComparison.Ordinal)
            || line.Contains("1990-01-01", StringComparison.Ordinal) || line.Contains("Smith", StringComparison.Ordinal) || line.Contains(signIn.Code, StringComparison.Ordinal));
    }

    public static TheoryData<string, string> IdTokenLies => new()
    {
        { "signed by a key the provider does not publish", "signature did not verify" },
        { "signed by another key under the published kid", "signature did not verify" },
        { "from another issuer", "from another issuer" },
        { "for another audience", "for another audience" },
        { "with another nonce", "nonce did not match" },
        { "without a nonce", "nonce did not match" },
    };

    [Theory]
    [MemberData(nameof(IdTokenLies))]
    public async Task IdTokenThatLies_IsRefusedWithAClearPage_AndSignsNobodyIn(string lie, string reason)
    {
        using var browser = gateway.NewBrowser();
        var signIn = await StartSignInAsync(browser);
        using var otherKey = RSA.Create(2048);
        var idToken = lie switch
        {
            "signed by a key the provider does not publish" => gateway.Provider.IdToken(gateway.Clock.GetUtcNow(), signIn.Nonce, key: new RsaSecurityKey(otherKey) { KeyId = "not-published" }),
            "signed by another key under the published kid" => gateway.Provider.IdToken(gateway.Clock.GetUtcNow(), signIn.Nonce, key: new RsaSecurityKey(otherKey) { KeyId = LyingIdentityProvider.KeyId }),
            "from another issuer" => gateway.Provider.IdToken(gateway.Clock.GetUtcNow(), signIn.Nonce, c => c["iss"] = "http://127.0.0.1:9"),
            "for another audience" => gateway.Provider.IdToken(gateway.Clock.GetUtcNow(), signIn.Nonce, c => c["aud"] = "another-client"),
            "with another nonce" => gateway.Provider.IdToken(gateway.Clock.GetUtcNow(), Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32))),
            "without a nonce" => gateway.Provider.IdToken(gateway.Clock.GetUtcNow(), signIn.Nonce, c => c.Remove("nonce")),
            _ => throw new ArgumentOutOfRangeException(nameof(lie), lie, null),
        };
        gateway.Provider.AnswerTokenRequest(signIn.Code, LyingIdentityProvider.TokenResponse(idToken));

        using var response = await browser.GetAsync(signIn.Callback);

        await FederatedRefusal.ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, NotSignedIn);
        gateway.Logs.Lines.Should().Contain(line => line.Contains("Federated sign-in refused (Invalid)", StringComparison.Ordinal) && line.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task IdTokenPastItsExpiryAndTheClockSkew_IsRefused()
    {
        using var browser = gateway.NewBrowser();
        var signIn = await StartSignInAsync(browser);
        gateway.Provider.AnswerTokenRequest(signIn.Code, LyingIdentityProvider.TokenResponse(gateway.Provider.IdToken(gateway.Clock.GetUtcNow(), signIn.Nonce)));

        // The ID token lives five minutes; the gateway allows its provider's clock a minute either way.
        gateway.Clock.Advance(TimeSpan.FromMinutes(5) + FederatedSignIn.ClockSkew + TimeSpan.FromSeconds(1));
        using var response = await browser.GetAsync(signIn.Callback);

        await FederatedRefusal.ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, NotSignedIn);
        gateway.Logs.Lines.Should().Contain(line => line.Contains("Federated sign-in refused (Invalid)", StringComparison.Ordinal) && line.Contains("has expired", StringComparison.Ordinal));
    }

    [Fact]
    public async Task IdTokenPastItsExpiryButWithinTheClockSkew_IsAccepted()
    {
        using var browser = gateway.NewBrowser();
        var signIn = await StartSignInAsync(browser);
        gateway.Provider.AnswerTokenRequest(signIn.Code, LyingIdentityProvider.TokenResponse(gateway.Provider.IdToken(gateway.Clock.GetUtcNow(), signIn.Nonce)));

        gateway.Clock.Advance(TimeSpan.FromMinutes(5) + FederatedSignIn.ClockSkew - TimeSpan.FromSeconds(1));
        using var response = await browser.GetAsync(signIn.Callback);

        response.StatusCode.Should().Be(HttpStatusCode.Redirect, await response.Content.ReadAsStringAsync());
        response.Headers.Location!.OriginalString.Should().Be("/account");
    }

    [Fact]
    public async Task IdTokensNamingUnknownKeys_MakeTheGatewayReReadTheProvidersKeysAtMostOnceIn30Seconds()
    {
        var readsBefore = gateway.Provider.KeySetReads;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var browser = gateway.NewBrowser();
            var signIn = await StartSignInAsync(browser);
            using var forger = RSA.Create(2048);
            gateway.Provider.AnswerTokenRequest(signIn.Code, LyingIdentityProvider.TokenResponse(
                gateway.Provider.IdToken(gateway.Clock.GetUtcNow(), signIn.Nonce, key: new RsaSecurityKey(forger) { KeyId = $"forged-{attempt}" })));

            using var response = await browser.GetAsync(signIn.Callback);

            await FederatedRefusal.ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, NotSignedIn);
        }

        (gateway.Provider.KeySetReads - readsBefore).Should().BeLessThanOrEqualTo(1, "forged key ids cannot make the gateway hammer the provider");
    }

    public static TheoryData<string, string, string> MalformedTokenResponses => new()
    {
        { """{"access_token":"provider-access-token","token_type":"Bearer","id_token":"ey""", "application/json", "the token response was not JSON" },
        { "<!doctype html><title>Bad gateway</title><h1>Bad gateway</h1>", "text/html", "the token response was not JSON" },
        { "", "application/json", "the token response was not JSON" },
        { "[]", "application/json", "the token response was not JSON" },
        { """{"access_token":"provider-access-token","token_type":"Bearer","expires_in":300}""", "application/json", "the token response had no ID token" },
    };

    [Theory]
    [MemberData(nameof(MalformedTokenResponses))]
    public async Task TokenResponseThatIsMalformed_IsRefusedWithAClearPage_AndSignsNobodyIn(string body, string contentType, string reason)
    {
        using var browser = gateway.NewBrowser();
        var signIn = await StartSignInAsync(browser);
        gateway.Provider.AnswerTokenRequest(signIn.Code, body, contentType);

        using var response = await browser.GetAsync(signIn.Callback);

        await FederatedRefusal.ShouldBeRefusedAsync(browser, response, HttpStatusCode.BadRequest, NotSignedIn);
        gateway.Logs.Lines.Should().Contain(line => line.Contains("Federated sign-in refused (Invalid): " + reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DiscoveryDocumentNamingAnotherIssuer_IsRefused_BeforeTheCitizenIsSentAnywhere()
    {
        // Served under /impostor, it claims to be the provider at the root: OpenID Connect Discovery §4.3 says no.
        gateway.Provider.ServeDiscovery("/impostor", gateway.Provider.Issuer);
        var directory = Directory.CreateTempSubdirectory("egw-lying-discovery-").FullName;
        var logs = new LogCapture();
        try
        {
            await using var impostor = LyingProviderGateway.Build(gateway.Provider.Issuer + "/impostor", directory, logs, gateway.Clock);
            var address = await impostor.StartOnFreePortAsync();
            using var browser = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false, UseCookies = true }) { BaseAddress = address };

            using var response = await browser.GetAsync("/sign-in/external?returnUrl=%2Faccount");

            await FederatedRefusal.ShouldBeRefusedAsync(browser, response, HttpStatusCode.ServiceUnavailable, "Sorry, signing in is not available at the moment");
            response.Headers.Location.Should().BeNull("the citizen is not sent to a provider whose metadata was refused");
            response.Headers.Contains("Set-Cookie").Should().BeFalse("no sign-in was started");
            logs.Lines.Should().Contain(line => line.Contains("The identity provider's metadata was refused: issuer differs from IdentityProvider:Authority", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// The gateway's sign-in link, then the provider's authorization endpoint, which sends the browser back: the nonce the
    /// gateway asked for, and the callback with the provider's code, unvisited.
    /// </summary>
    private async Task<(string Nonce, string Code, Uri Callback)> StartSignInAsync(HttpClient browser)
    {
        using var challenge = await browser.GetAsync("/sign-in/external?returnUrl=%2Faccount");
        challenge.StatusCode.Should().Be(HttpStatusCode.Redirect, await challenge.Content.ReadAsStringAsync());
        var authorize = challenge.Headers.Location!;
        authorize.GetLeftPart(UriPartial.Path).Should().Be(gateway.Provider.Issuer + "/authorize");
        var asked = QueryHelpers.ParseQuery(authorize.Query);
        asked["response_type"].ToString().Should().Be("code");
        asked["code_challenge_method"].ToString().Should().Be("S256");

        using var back = await browser.GetAsync(authorize);
        back.StatusCode.Should().Be(HttpStatusCode.Redirect, await back.Content.ReadAsStringAsync());
        var callback = back.Headers.Location!;
        callback.GetLeftPart(UriPartial.Path).Should().Be(new Uri(gateway.Address, FederatedSignIn.CallbackPath).AbsoluteUri);
        var returned = QueryHelpers.ParseQuery(callback.Query);
        returned["state"].ToString().Should().Be(asked["state"].ToString());
        return (asked["nonce"].ToString(), returned["code"].ToString(), callback);
    }
}
