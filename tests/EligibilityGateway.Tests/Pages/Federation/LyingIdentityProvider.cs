using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using WireMock.Matchers;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;

namespace EligibilityGateway.Tests.Pages.Federation;

/// <summary>
/// An OpenID Connect provider played by WireMock.Net on a free loopback port, so that a test can make it lie in ways a
/// certified provider never would: its discovery document, its keys and its token endpoint say whatever the test
/// writes. Its authorization endpoint sends the browser straight back to the <c>redirect_uri</c> with a fresh code, the
/// <c>state</c> it was given and its <c>iss</c>, as a provider does once the citizen has signed in.
/// </summary>
internal sealed class LyingIdentityProvider : IDisposable
{
    /// <summary>The <c>kid</c> of the provider's published signing key.</summary>
    public const string KeyId = "provider-signing-1";

    private readonly WireMockServer server;

    public LyingIdentityProvider()
    {
        server = WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"] });
        Issuer = server.Url!;
        PublishedKey = new RsaSecurityKey(RSA.Create(2048)) { KeyId = KeyId };
        ServeDiscovery("", Issuer);
        server.Given(Request.Create().WithPath("/jwks").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(JsonSerializer.Serialize(new { keys = new[] { PublicJwk(PublishedKey) } })));

        // Handlebars in triple braces: the values go into the Location header as they came, not HTML-escaped.
        server.Given(Request.Create().WithPath("/authorize").UsingGet())
            .RespondWith(Response.Create()
                .WithStatusCode(302)
                .WithHeader("Location", "{{{request.query.redirect_uri}}}?code={{Random Type=\"Guid\"}}&state={{{request.query.state}}}&iss=" + Uri.EscapeDataString(Issuer))
                .WithTransformer());
    }

    /// <summary>The provider's issuer identifier, <c>http://127.0.0.1:{port}</c>, and the authority the gateway is given.</summary>
    public string Issuer { get; }

    /// <summary>The key whose public half the provider publishes at its <c>jwks_uri</c>.</summary>
    public RsaSecurityKey PublishedKey { get; }

    /// <summary>
    /// Serves a discovery document at <c>{Issuer}{path}/.well-known/openid-configuration</c> that states
    /// <paramref name="issuer"/> as its issuer, with this provider's endpoints (no PAR endpoint: the parameters ride in the URL).
    /// </summary>
    public void ServeDiscovery(string path, string issuer) =>
        server.Given(Request.Create().WithPath(path + "/.well-known/openid-configuration").UsingGet())
            .RespondWith(Response.Create().WithHeader("Content-Type", "application/json").WithBody(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["issuer"] = issuer,
                ["authorization_endpoint"] = Issuer + "/authorize",
                ["token_endpoint"] = Issuer + "/token",
                ["jwks_uri"] = Issuer + "/jwks",
                ["response_types_supported"] = new[] { "code" },
                ["subject_types_supported"] = new[] { "public" },
                ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
                ["code_challenge_methods_supported"] = new[] { "S256" },
                ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_basic" },
            })));

    /// <summary>
    /// The token endpoint's answer to a redemption of <paramref name="code"/> (and only of it): <paramref name="body"/>
    /// as <paramref name="contentType"/>. Any other request to the token endpoint gets WireMock's 404.
    /// </summary>
    public void AnswerTokenRequest(string code, string body, string contentType = "application/json") =>
        server.Given(Request.Create().WithPath("/token").UsingPost()
                .WithBody(new RegexMatcher("(^|&)grant_type=authorization_code(&|$)"))
                .WithBody(new RegexMatcher("(^|&)code=" + code + "(&|$)")))
            .RespondWith(Response.Create().WithHeader("Content-Type", contentType).WithBody(body));

    /// <summary>A token response carrying <paramref name="idToken"/>, as a provider sends it.</summary>
    public static string TokenResponse(string idToken) =>
        JsonSerializer.Serialize(new { access_token = "provider-access-token", token_type = "Bearer", expires_in = 300, id_token = idToken });

    /// <summary>
    /// An ID token for Smith signed with <paramref name="key"/> (the published key unless given), valid for five minutes
    /// from <paramref name="now"/>, naming <paramref name="nonce"/>; <paramref name="change"/> alters its claims.
    /// </summary>
    public string IdToken(DateTimeOffset now, string nonce, Action<Dictionary<string, object>>? change = null, SecurityKey? key = null)
    {
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["aud"] = FederatedGateway.ClientId,
            ["sub"] = "provider-subject-smith",
            ["nonce"] = nonce,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddMinutes(5).ToUnixTimeSeconds(),
            ["family_name"] = "Smith",
            ["birthdate"] = "1990-01-01",
            ["national_insurance_number"] = "AB 12 34 56 C",
        };
        change?.Invoke(claims);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            SigningCredentials = new SigningCredentials(key ?? PublishedKey, SecurityAlgorithms.RsaSha256),
        });
    }

    /// <summary>How many times the gateway has read the provider's keys.</summary>
    public int KeySetReads => server.LogEntries.Count(e => e.RequestMessage.Path == "/jwks");

    /// <summary>The form the gateway posted to the token endpoint last.</summary>
    public IReadOnlyDictionary<string, string> LastTokenRequest()
    {
        var body = server.LogEntries.Last(e => e.RequestMessage.Path == "/token").RequestMessage.Body ?? "";
        return Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(body).ToDictionary(p => p.Key, p => p.Value.ToString());
    }

    private static Dictionary<string, string> PublicJwk(RsaSecurityKey key)
    {
        var parameters = key.Rsa.ExportParameters(includePrivateParameters: false);
        return new Dictionary<string, string>
        {
            ["kty"] = "RSA",
            ["use"] = "sig",
            ["alg"] = "RS256",
            ["kid"] = key.KeyId,
            ["n"] = Base64UrlEncoder.Encode(parameters.Modulus),
            ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
        };
    }

    public void Dispose()
    {
        server.Stop();
        server.Dispose();
        PublishedKey.Rsa.Dispose();
    }
}
