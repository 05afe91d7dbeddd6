using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>RFC 8414 metadata and the JWK Set, over HTTP.</summary>
public sealed class DiscoveryTests
{
    [Fact]
    public async Task OpenIdConfiguration_UnderASandboxFramework_PublishesWhatTheTokenEndpointDoes()
    {
        await using var gateway = await AuthorizationGateway.StartAsync(SandboxClients.FrameworkPath);

        using var response = await gateway.Client.GetAsync(new Uri("/.well-known/openid-configuration", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/json");
        response.Headers.CacheControl!.Public.Should().BeTrue();
        var json = await response.JsonAsync();
        var issuer = gateway.DerivedIssuer;
        json.GetProperty("issuer").GetString().Should().Be(issuer + "/");
        json.GetProperty("token_endpoint").GetString().Should().Be(issuer + "/connect/token");
        json.GetProperty("jwks_uri").GetString().Should().Be(issuer + "/connect/jwks");
        Strings(json, "grant_types_supported").Should().Equal("authorization_code", "refresh_token", "client_credentials");
        Strings(json, "token_endpoint_auth_methods_supported").Should().Equal("private_key_jwt", "client_secret_basic");
        Strings(json, "token_endpoint_auth_signing_alg_values_supported").Should().Equal(["ES256", "PS256"], "FAPI 2.0 Security Profile §5.4: no RS256");
        Strings(json, "scopes_supported").Should().Equal("openid", "eligibility.check", "consents.manage", "audit.read");
        Strings(json, "subject_types_supported").Should().Equal("pairwise");
        Strings(json, "id_token_signing_alg_values_supported").Should().Equal("ES256");
        Strings(json, "response_types_supported").Should().Equal("code");
    }

    [Fact]
    public async Task OAuthAuthorizationServerMetadata_IsTheSameDocumentAsOpenIdConfiguration()
    {
        await using var gateway = await AuthorizationGateway.StartAsync(SandboxClients.FrameworkPath);

        var openId = await gateway.Client.GetStringAsync(new Uri("/.well-known/openid-configuration", UriKind.Relative));
        var oauth = await gateway.Client.GetStringAsync(new Uri("/.well-known/oauth-authorization-server", UriKind.Relative));

        oauth.Should().Be(openId);
        oauth.Should().Contain("\"issuer\"");
    }

    [Fact]
    public async Task Metadata_UnderAProductionFramework_OffersOnlyPrivateKeyJwt()
    {
        using var framework = new KeyedFramework();
        await using var gateway = await AuthorizationGateway.StartAsync(framework.Path);

        using var response = await gateway.Client.GetAsync(new Uri("/.well-known/oauth-authorization-server", UriKind.Relative));

        Strings(await response.JsonAsync(), "token_endpoint_auth_methods_supported").Should().Equal("private_key_jwt");
    }

    [Fact]
    public async Task Metadata_WithAConfiguredIssuer_PublishesItWhateverTheHostHeaderSays()
    {
        await using var gateway = await AuthorizationGateway.StartAsync(
            SandboxClients.FrameworkPath,
            settings: new Dictionary<string, string?> { ["Authorization:Issuer"] = "https://gateway.example.gov.uk/" });
        using var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/openid-configuration");
        request.Headers.Host = "localhost"; // a loopback name host filtering lets through, but not the issuer's host
        using var foreign = new HttpRequestMessage(HttpMethod.Get, "/.well-known/openid-configuration");
        foreign.Headers.Host = "attacker.example";

        using var response = await gateway.Client.SendAsync(request);
        using var refused = await gateway.Client.SendAsync(foreign);

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, "a Host that is neither the issuer's nor loopback is refused");
        var json = await response.JsonAsync();
        json.GetProperty("issuer").GetString().Should().Be("https://gateway.example.gov.uk/");
        json.GetProperty("token_endpoint").GetString().Should().Be("https://gateway.example.gov.uk/connect/token");
    }

    [Fact]
    public async Task Metadata_WithoutAConfiguredIssuer_DerivesItFromTheBoundAddressNotTheHostHeader()
    {
        await using var gateway = await AuthorizationGateway.StartAsync(SandboxClients.FrameworkPath);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/openid-configuration");
        request.Headers.Host = "localhost:1";
        using var foreign = new HttpRequestMessage(HttpMethod.Get, "/.well-known/openid-configuration");
        foreign.Headers.Host = "attacker.example";

        using var response = await gateway.Client.SendAsync(request);
        using var refused = await gateway.Client.SendAsync(foreign);

        refused.StatusCode.Should().Be(HttpStatusCode.BadRequest, "a Host that is neither the issuer's nor loopback is refused");
        var issuer = (await response.JsonAsync()).GetProperty("issuer").GetString();
        issuer.Should().Be(gateway.IssuerIdentifier).And.StartWith("http://127.0.0.1:").And.NotContain("localhost");
    }

    [Fact]
    public async Task Jwks_PublishesBothRingKeysWithKidUseAndAlg_AndNoPrivateMember()
    {
        await using var gateway = await AuthorizationGateway.StartAsync(SandboxClients.FrameworkPath);

        using var response = await gateway.Client.GetAsync(new Uri("/connect/jwks", UriKind.Relative));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/jwk-set+json");
        response.Headers.CacheControl!.Public.Should().BeTrue();
        response.Headers.CacheControl.MaxAge.Should().Be(TimeSpan.FromMinutes(5));
        var keys = (await response.JsonAsync()).GetProperty("keys").EnumerateArray().ToList();
        keys.Select(k => k.GetProperty("kid").GetString()).Should().BeEquivalentTo(gateway.KeyRing.SigningKeys.Select(k => k.KeyId)).And.HaveCount(2);
        foreach (var key in keys)
        {
            key.EnumerateObject().Select(p => p.Name).Should().BeEquivalentTo("kty", "crv", "x", "y", "kid", "use", "alg");
            key.GetProperty("kty").GetString().Should().Be("EC");
            key.GetProperty("crv").GetString().Should().Be("P-256");
            key.GetProperty("use").GetString().Should().Be("sig");
            key.GetProperty("alg").GetString().Should().Be("ES256");
        }
    }

    [Fact]
    public async Task Jwks_AskedAgainWithItsEntityTag_AnswersNotModified()
    {
        await using var gateway = await AuthorizationGateway.StartAsync(SandboxClients.FrameworkPath);
        using var first = await gateway.Client.GetAsync(new Uri("/connect/jwks", UriKind.Relative));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/connect/jwks");
        request.Headers.IfNoneMatch.Add(first.Headers.ETag!);

        using var second = await gateway.Client.SendAsync(request);

        first.Headers.ETag.Should().NotBeNull();
        second.StatusCode.Should().Be(HttpStatusCode.NotModified);
    }

    [Theory]
    [InlineData("Authorization:AccessTokenLifetime", "00:10:01", "AccessTokenLifetime")]
    [InlineData("Authorization:AccessTokenLifetime", "00:00:00", "AccessTokenLifetime")]
    [InlineData("Authorization:PushedRequestLifetime", "00:10:01", "PushedRequestLifetime")]
    [InlineData("Authorization:PushedRequestLifetime", "00:00:00", "PushedRequestLifetime")]
    [InlineData("Authorization:Issuer", "gateway.example.gov.uk", "Issuer")]
    [InlineData("Authorization:Issuer", "https://gateway.example.gov.uk/?tenant=1", "Issuer")]
    public async Task Start_WithInvalidAuthorizationSetting_FailsNamingTheSetting(string key, string value, string named)
    {
        var start = async () =>
        {
            await using var gateway = await AuthorizationGateway.StartAsync(SandboxClients.FrameworkPath, settings: new Dictionary<string, string?> { [key] = value });
        };

        var failure = await start.Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Failures.Should().ContainSingle(f => f.Contains("Authorization:" + named, StringComparison.Ordinal));
    }

    private static IEnumerable<string?> Strings(JsonElement json, string property) =>
        json.GetProperty(property).EnumerateArray().Select(e => e.GetString()).ToList();
}
