using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>
/// private_key_jwt (RFC 7523 §3, OIDC Core §9) against a production-style framework whose keys the test holds.
/// Each negative case breaks exactly one rule of an otherwise valid assertion.
/// </summary>
public sealed class PrivateKeyJwtTests : IAsyncLifetime
{
    private readonly KeyedFramework framework = new();
    private AuthorizationGateway gateway = null!;

    public async Task InitializeAsync() => gateway = await AuthorizationGateway.StartAsync(framework.Path);

    public async Task DisposeAsync()
    {
        await gateway.DisposeAsync();
        framework.Dispose();
    }

    private static DateTimeOffset Now => TimeProvider.System.GetUtcNow();

    private Dictionary<string, object> CouncilClaims() => ClientAssertions.Claims(KeyedFramework.CouncilClientId, gateway.DerivedIssuer, Now);

    private string CouncilAssertion(Action<Dictionary<string, object>>? change = null)
    {
        var claims = CouncilClaims();
        change?.Invoke(claims);
        return ClientAssertions.SignEs256(framework.CouncilKey, KeyedFramework.CouncilKid, claims);
    }

    private async Task<HttpResponseMessage> PostAsync(string assertion, string? scope = null) =>
        await gateway.PostTokenAsync(ClientAssertions.Form(assertion, scope));

    [Fact]
    public async Task Token_WithAValidEs256Assertion_IsIssuedToTheCouncilWithItsDefaultScopes()
    {
        using var response = await PostAsync(CouncilAssertion());

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var json = await response.JsonAsync();
        json.GetProperty("scope").GetString().Should().Be("eligibility.check consents.manage");
        var payload = OAuthResponses.Decode(json.GetProperty("access_token").GetString()!).Payload;
        payload.GetProperty("client_id").GetString().Should().Be(KeyedFramework.CouncilClientId);
        payload.GetProperty("sub").GetString().Should().Be(KeyedFramework.CouncilClientId);
    }

    [Fact]
    public async Task Token_WithAMatchingClientIdParameter_IsIssued()
    {
        var form = ClientAssertions.Form(CouncilAssertion());
        form.Add(new("client_id", KeyedFramework.CouncilClientId));

        using var response = await gateway.PostTokenAsync(form);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Token_WithAPs256SignedAssertion_IsIssued()
    {
        var claims = ClientAssertions.Claims(KeyedFramework.RsaCouncilClientId, gateway.DerivedIssuer, Now);
        var assertion = ClientAssertions.Sign(new RsaSecurityKey(framework.RsaCouncilKey) { KeyId = KeyedFramework.RsaCouncilKid }, SecurityAlgorithms.RsaSsaPssSha256, claims);

        using var response = await PostAsync(assertion, "eligibility.check");

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Token_WithAnRs256SignedAssertion_IsInvalidClient_AsFapi2Requires()
    {
        // FAPI 2.0 Security Profile §5.4: PKCS#1 v1.5 signatures are not allowed, even under a registered RSA key.
        var claims = ClientAssertions.Claims(KeyedFramework.RsaCouncilClientId, gateway.DerivedIssuer, Now);
        var assertion = ClientAssertions.Sign(new RsaSecurityKey(framework.RsaCouncilKey) { KeyId = KeyedFramework.RsaCouncilKid }, SecurityAlgorithms.RsaSha256, claims);

        using var response = await PostAsync(assertion, "eligibility.check");

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("ES256 or PS256");
    }

    [Theory]
    [InlineData("iat")]
    [InlineData("nbf")]
    public async Task Token_WithAnAssertionIssuedInTheFuture_IsInvalidClient(string claim)
    {
        using var response = await PostAsync(CouncilAssertion(c => c[claim] = Now.AddMinutes(2).ToUnixTimeSeconds()));

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain(claim);
    }

    [Fact]
    public async Task Token_WithThePushedAuthorizationEndpointAsAudience_IsInvalidClient()
    {
        using var response = await PostAsync(CouncilAssertion(c => c["aud"] = gateway.DerivedIssuer + "/connect/par"));

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("aud");
    }

    [Fact]
    public async Task Token_ForAnAuditorAssertion_GrantsAuditReadAndRefusesEligibilityCheck()
    {
        string Assertion() => ClientAssertions.SignEs256(framework.AuditorKey, KeyedFramework.AuditorKid, ClientAssertions.Claims(KeyedFramework.AuditorClientId, gateway.DerivedIssuer, Now));

        using var granted = await PostAsync(Assertion());
        using var refused = await PostAsync(Assertion(), "eligibility.check");

        (await granted.JsonAsync()).GetProperty("scope").GetString().Should().Be("audit.read");
        await refused.ShouldBeOAuthErrorAsync(400, "invalid_scope");
    }

    [Fact]
    public async Task Token_WithTheTokenEndpointAsAudience_IsInvalidClient()
    {
        using var response = await PostAsync(CouncilAssertion(c => c["aud"] = gateway.DerivedIssuer + "/connect/token"));

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("aud");
    }

    [Fact]
    public async Task Token_WithTheIssuerAmongOtherAudiences_IsInvalidClient()
    {
        using var response = await PostAsync(CouncilAssertion(c => c["aud"] = new[] { gateway.DerivedIssuer, "https://other.example" }));

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("aud");
    }

    [Fact]
    public async Task Token_WithTheIssuerAsASingleElementAudienceArray_IsIssued()
    {
        using var response = await PostAsync(CouncilAssertion(c => c["aud"] = new[] { gateway.DerivedIssuer }));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Token_WithAnExpiredAssertion_IsInvalidClient()
    {
        using var response = await PostAsync(CouncilAssertion(c =>
        {
            c["iat"] = Now.AddMinutes(-3).ToUnixTimeSeconds();
            c["exp"] = Now.AddMinutes(-1).ToUnixTimeSeconds();
        }));

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("expired");
    }

    [Fact]
    public async Task Token_WithAnAssertionValidForMoreThanFiveMinutes_IsInvalidClient()
    {
        using var response = await PostAsync(CouncilAssertion(c => c["exp"] = Now.AddMinutes(10).ToUnixTimeSeconds()));

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("5 minutes");
    }

    [Theory]
    [InlineData("exp")]
    [InlineData("jti")]
    [InlineData("sub")]
    [InlineData("aud")]
    public async Task Token_WithAnAssertionMissingARequiredClaim_IsInvalidClient(string claim)
    {
        using var response = await PostAsync(CouncilAssertion(c => c.Remove(claim)));

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Fact]
    public async Task Token_WithAnAssertionNotYetValid_IsInvalidClient()
    {
        using var response = await PostAsync(CouncilAssertion(c => c["nbf"] = Now.AddMinutes(2).ToUnixTimeSeconds()));

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("nbf");
    }

    [Fact]
    public async Task Token_WithAReusedJti_IsRefusedTheSecondTime()
    {
        var assertion = CouncilAssertion();
        using var first = await PostAsync(assertion);

        using var second = await PostAsync(assertion);

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        (await second.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("used already");
    }

    [Fact]
    public async Task Token_WithTheSameJtiInAFreshlySignedAssertion_IsRefused()
    {
        var jti = Guid.NewGuid().ToString("N");
        using var first = await PostAsync(CouncilAssertion(c => c["jti"] = jti));

        using var second = await PostAsync(CouncilAssertion(c =>
        {
            c["jti"] = jti;
            c["exp"] = Now.AddSeconds(90).ToUnixTimeSeconds();
        }));

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        await second.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Fact]
    public async Task Token_WithAnAssertionSignedByAnotherKeyUnderTheRegisteredKid_IsInvalidClient()
    {
        using var stranger = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        using var response = await PostAsync(ClientAssertions.SignEs256(stranger, KeyedFramework.CouncilKid, CouncilClaims()));

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("signature");
    }

    [Fact]
    public async Task Token_WithAnAssertionSignedByAnotherClientsKey_IsInvalidClient()
    {
        using var response = await PostAsync(ClientAssertions.SignEs256(framework.AuditorKey, KeyedFramework.CouncilKid, CouncilClaims()));

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Fact]
    public async Task Token_WithAnUnknownKid_IsInvalidClient()
    {
        using var response = await PostAsync(ClientAssertions.SignEs256(framework.CouncilKey, "unknown-kid", CouncilClaims()));

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("kid");
    }

    [Fact]
    public async Task Token_WithAnUnsignedAlgNoneAssertion_IsInvalidClient()
    {
        using var response = await PostAsync(ClientAssertions.Unsigned(CouncilClaims()));

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Fact]
    public async Task Token_WithAnHs256AssertionKeyedWithTheRegisteredPublicKey_IsInvalidClient()
    {
        // The algorithm-confusion attack: the public key, which anyone may read in the framework, as an HMAC secret.
        var (x, y) = framework.CouncilPublic;
        var publicJwk = Encoding.UTF8.GetBytes($$"""{"crv":"P-256","kty":"EC","x":"{{x}}","y":"{{y}}"}""");

        using var response = await PostAsync(ClientAssertions.Hs256(publicJwk, KeyedFramework.CouncilKid, CouncilClaims()));

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("ES256");
    }

    [Fact]
    public async Task Token_WithAnRs256AssertionForAnEcKey_IsInvalidClient()
    {
        var claims = CouncilClaims();
        var assertion = ClientAssertions.Sign(new RsaSecurityKey(framework.RsaCouncilKey) { KeyId = KeyedFramework.CouncilKid }, SecurityAlgorithms.RsaSha256, claims);

        using var response = await PostAsync(assertion);

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("ES256 or PS256");
    }

    [Fact]
    public async Task Token_WithSubDifferentFromIss_IsInvalidClient()
    {
        using var response = await PostAsync(CouncilAssertion(c => c["sub"] = KeyedFramework.AuditorClientId));

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Fact]
    public async Task Token_WithAClientIdParameterNamingAnotherClient_IsInvalidClient()
    {
        var form = ClientAssertions.Form(CouncilAssertion());
        form.Add(new("client_id", KeyedFramework.AuditorClientId));

        using var response = await gateway.PostTokenAsync(form);

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Fact]
    public async Task Token_WithAnAssertionFromAnUnknownClient_IsInvalidClient()
    {
        var claims = ClientAssertions.Claims("urn:gov.uk:council:york", gateway.DerivedIssuer, Now);

        using var response = await PostAsync(ClientAssertions.SignEs256(framework.CouncilKey, KeyedFramework.CouncilKid, claims));

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Theory]
    [InlineData("not-a-jwt")]
    [InlineData("a.b.c")]
    [InlineData("eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOjF9")]
    public async Task Token_WithAMalformedAssertion_IsInvalidClient(string assertion)
    {
        using var response = await PostAsync(assertion);

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Theory]
    [InlineData("iss", "5")]
    [InlineData("iss", "[\"urn:gov.uk:council:leeds\"]")]
    [InlineData("sub", "{\"id\":1}")]
    [InlineData("aud", "7")]
    [InlineData("aud", "[]")]
    [InlineData("exp", "\"soon\"")]
    [InlineData("exp", "1e300")]
    [InlineData("exp", "-1")]
    [InlineData("jti", "12")]
    [InlineData("jti", "null")]
    [InlineData("nbf", "\"now\"")]
    public async Task Token_WithAClaimOfTheWrongJsonType_IsInvalidClientNotAServerError(string claim, string json)
    {
        var payload = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(CouncilClaims()))!.AsObject();
        payload[claim] = System.Text.Json.Nodes.JsonNode.Parse(json);
        var assertion = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(
            payload.ToJsonString(),
            new SigningCredentials(new ECDsaSecurityKey(framework.CouncilKey) { KeyId = KeyedFramework.CouncilKid }, SecurityAlgorithms.EcdsaSha256));

        using var response = await PostAsync(assertion);

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Fact]
    public async Task Token_WithAnotherAssertionType_IsInvalidClient()
    {
        using var response = await gateway.PostTokenAsync(
        [
            new("grant_type", "client_credentials"),
            new("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
            new("client_assertion", CouncilAssertion()),
        ]);

        // RFC 7521 §4.2.1: an assertion the server cannot use is invalid_client.
        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Fact]
    public async Task Token_WithAnAssertionButNoAssertionType_IsInvalidRequest()
    {
        using var response = await gateway.PostTokenAsync([new("grant_type", "client_credentials"), new("client_assertion", CouncilAssertion())]);

        await response.ShouldBeOAuthErrorAsync(400, "invalid_request");
    }

    [Fact]
    public async Task Token_WithAnAssertionAndASecretInTheBody_IsInvalidRequest()
    {
        var form = ClientAssertions.Form(CouncilAssertion());
        form.Add(new("client_secret", "also-a-secret"));

        using var response = await gateway.PostTokenAsync(form);

        await response.ShouldBeOAuthErrorAsync(400, "invalid_request");
    }
}
