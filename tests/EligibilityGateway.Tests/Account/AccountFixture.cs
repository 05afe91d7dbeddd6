using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using EligibilityGateway.Consents;
using EligibilityGateway.Pages;
using EligibilityGateway.Security;
using EligibilityGateway.Tests.EndToEnd;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.Account;

/// <summary>
/// The sandbox composition (gateway, mock, Redis) with what the account tests need around it: browser-like clients
/// signed in as a sandbox citizen, consents created over the API and authorised as the consent page will authorise
/// them, and consent-bound access tokens in the form the authorization-code flow issues.
/// </summary>
public sealed class AccountFixture : SandboxFixture
{
    internal IServiceProvider Services => Sandbox.GatewayServices;

    /// <summary>The verified identity the sandbox directory holds for <paramref name="username"/>.</summary>
    internal Subject IdentityOf(string username) =>
        ((Citizen)Services.GetRequiredService<IPeopleDirectory>().Find(username)!).Identity;

    /// <summary>A new browser (its own cookie jar, redirects not followed) signed in as <paramref name="username"/>.</summary>
    internal async Task<HttpClient> SignedInAsync(string username)
    {
        var client = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = false })
        {
            BaseAddress = Sandbox.GatewayAddress,
        };
        using var response = await Tests.Pages.PageGateway.SignInAsync(client, username, Tests.Pages.PageGateway.Password);
        response.StatusCode.Should().Be(HttpStatusCode.Redirect);
        response.Headers.Location!.OriginalString.Should().Be("/account");
        return client;
    }

    /// <summary>Creates a consent as Leeds over <c>POST /v1/consents</c> and returns its id.</summary>
    internal async Task<string> CreateConsentAsync(string caseReference = "FSM-ACCOUNT-1")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Gateway("/v1/consents"))
        {
            Content = new StringContent($$"""{"scheme":"free-school-meals","caseReference":"{{caseReference}}"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(scope: "consents.manage"));
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("consentId").GetString()!;
    }

    /// <summary>A consent created by Leeds and authorised by <paramref name="username"/>, as pressing Allow does.</summary>
    internal async Task<string> AuthorisedConsentAsync(string username = "smith")
    {
        var consentId = await CreateConsentAsync();
        var change = await Services.GetRequiredService<ConsentService>().AuthoriseAsync(consentId, IdentityOf(username), username);
        change.Should().BeOfType<ConsentChange.Made>();
        return consentId;
    }

    /// <summary>
    /// A consent-bound access token for Leeds: signed with the gateway's active key, <c>authorization_details</c>
    /// naming the consent (RFC 9396), five minutes long.
    /// </summary>
    internal string ConsentToken(string consentId)
    {
        var now = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Services.GetRequiredService<GatewayIssuer>().Identifier,
            ["aud"] = "eligibility-gateway",
            ["sub"] = "smith",
            ["client_id"] = "leeds",
            ["scope"] = "eligibility.check",
            ["jti"] = Guid.NewGuid().ToString(),
            ["iat"] = now,
            ["nbf"] = now,
            ["exp"] = now + 300,
            ["authorization_details"] = new object[] { new Dictionary<string, object> { ["type"] = "eligibility-check", ["consent_id"] = consentId } },
        };
        var key = Services.GetRequiredService<KeyRing>().ActiveSigningKey;
        var header = Base64UrlEncoder.Encode(JsonSerializer.Serialize(new Dictionary<string, string> { ["alg"] = "ES256", ["typ"] = "at+jwt", ["kid"] = key.KeyId }));
        var payload = Base64UrlEncoder.Encode(JsonSerializer.Serialize(claims));
        var signature = key.ECDsa.SignData(Encoding.ASCII.GetBytes($"{header}.{payload}"), HashAlgorithmName.SHA256);
        return $"{header}.{payload}.{Base64UrlEncoder.Encode(signature)}";
    }

    /// <summary>Posts a check under a consent-bound token.</summary>
    internal Task<HttpResponseMessage> ConsentCheckAsync(string consentId) =>
        PostCheckAsync(ConsentToken(consentId), """{"scheme":"free-school-meals","caseReference":"FSM-ACCOUNT-1"}""");

    /// <summary>Posts the Revoke form of the account page as <paramref name="client"/>'s browser would.</summary>
    internal static async Task<HttpResponseMessage> RevokeAsync(HttpClient client, string consentId, bool withToken = true)
    {
        var form = new Dictionary<string, string> { ["consentId"] = consentId };
        if (withToken)
        {
            form["__RequestVerificationToken"] = await Tests.Pages.PageGateway.AntiforgeryTokenAsync(client, "/sign-out");
        }

        return await client.PostAsync("/account?handler=Revoke", new FormUrlEncodedContent(form));
    }
}
