using System.Net;
using EligibilityGateway.Pages;
using EligibilityGateway.Tests.Authorization;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Tests.Pages.Federation;

/// <summary>A production framework (no local accounts), the gateway authenticating to the provider with <c>client_secret_basic</c>.</summary>
public sealed class ProductionFederatedGateway : FederatedGateway
{
    private static readonly KeyedFramework Framework = new();

    public ProductionFederatedGateway()
        : base(Framework.Path, privateKeyJwt: false)
    {
    }
}

/// <summary>
/// Federated sign-in under a <c>sandbox: false</c> framework: the identity provider is the only way in for citizens,
/// through <see cref="FederatedPeopleDirectory"/>.
/// </summary>
public sealed class FederatedProductionTests(ProductionFederatedGateway gateway) : IClassFixture<ProductionFederatedGateway>
{
    [Fact]
    public async Task SignInPage_OffersOnlyTheIdentityProvider()
    {
        using var browser = gateway.NewBrowser();

        var html = await browser.Client.GetStringAsync("/sign-in");

        gateway.Service<IPeopleDirectory>().Should().BeOfType<FederatedPeopleDirectory>();
        html.Should().Contain($"Continue to {FederatedGateway.ProviderName}").And.NotContain("name=\"password\"").And.NotContain("test account");
    }

    [Fact]
    public async Task CitizenKnownByANassNumber_SignsInAndSeesTheIdentityTheProviderVerified()
    {
        using var browser = gateway.NewBrowser();
        var callback = await browser.SignInAtProviderAsync("khan");

        using var signedIn = await browser.Client.GetAsync(callback);

        signedIn.StatusCode.Should().Be(HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
        signedIn.Headers.Location!.OriginalString.Should().Be("/account");
        var account = WebUtility.HtmlDecode(await browser.Client.GetStringAsync("/account"));
        account.Should().Contain("Khan").And.Contain("240712349").And.Contain("1 January 1990");
    }

    [Fact]
    public void LocalPasswords_FindNobody()
    {
        var directory = gateway.Service<IPeopleDirectory>();

        directory.VerifyPassword("smith", "sandbox").Should().BeNull("a production framework declares no local accounts");
        directory.Find("smith").Should().BeNull();
    }
}

/// <summary>The <c>IdentityProvider</c> settings are checked on start, and an unreachable provider is a page, not a 500.</summary>
public sealed class FederatedSignInSettingsTests
{
    [Theory]
    [InlineData("http://idp.example.com", "secret", null, "Authority")]
    [InlineData("https://idp.example.com", "secret", "/no/such/key.pem", "exactly one of ClientSecret")]
    [InlineData("https://idp.example.com", null, null, "exactly one of ClientSecret")]
    [InlineData("https://idp.example.com", null, "/no/such/key.pem", "does not exist")]
    public async Task InvalidSettings_StopTheGatewayWithAMessageNamingThem(string authority, string? secret, string? keyPath, string message)
    {
        var directory = Directory.CreateTempSubdirectory("egw-federation-settings-").FullName;
        try
        {
            await using var app = TestGateway.Build(directory, new Dictionary<string, string?>
            {
                ["IdentityProvider:Authority"] = authority,
                ["IdentityProvider:ClientId"] = "eligibility-gateway",
                ["IdentityProvider:ClientSecret"] = secret,
                ["IdentityProvider:ClientKeyPath"] = keyPath,
            });

            var start = async () => await app.StartOnFreePortAsync();

            (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain(message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task UnreachableProvider_IsAServiceUnavailablePage()
    {
        var directory = Directory.CreateTempSubdirectory("egw-federation-down-").FullName;
        try
        {
            await using var app = TestGateway.Build(directory, new Dictionary<string, string?>
            {
                ["IdentityProvider:Authority"] = "http://127.0.0.1:9",
                ["IdentityProvider:ClientId"] = "eligibility-gateway",
                ["IdentityProvider:ClientSecret"] = "secret",
            });
            var address = await app.StartOnFreePortAsync();
            using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = address };

            using var response = await client.GetAsync("/sign-in/external?returnUrl=%2Faccount");

            response.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            (await response.Content.ReadAsStringAsync()).Should().Contain("Sorry, signing in is not available at the moment");
            response.Headers.TryGetValues("Set-Cookie", out var cookies).Should().BeFalse(string.Join(", ", cookies ?? []));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task WithoutAProvider_TheFederatedPagesDoNotExist()
    {
        await using var gateway = await PageGateway.StartAsync();

        using var external = await gateway.Client.GetAsync("/sign-in/external");
        using var callback = await gateway.Client.GetAsync("/sign-in/callback?code=x&state=y");

        external.StatusCode.Should().Be(HttpStatusCode.NotFound);
        callback.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await gateway.Client.GetStringAsync("/sign-in")).Should().NotContain("sign-in-external");
    }
}
