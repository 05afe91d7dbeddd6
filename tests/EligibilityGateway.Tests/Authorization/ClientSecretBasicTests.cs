using System.Net;
using System.Net.Http.Headers;
using System.Text;
using EligibilityGateway.Authorization;
using EligibilityGateway.Tests.TrustFramework;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>The token endpoint with sandbox clients (client_secret_basic), and the request rules every client meets.</summary>
public sealed class ClientSecretBasicTests : IAsyncLifetime
{
    private AuthorizationGateway gateway = null!;

    public async Task InitializeAsync() => gateway = await AuthorizationGateway.StartAsync(SandboxClients.FrameworkPath);

    public async Task DisposeAsync() => await gateway.DisposeAsync();

    [Fact]
    public async Task Token_WithTheSandboxSecret_IsAnEs256AtJwtThatVerifiesUnderThePublishedKey()
    {
        using var response = await gateway.PostTokenWithSecretAsync(SandboxClients.Leeds, SandboxClients.LeedsSecret, "eligibility.check");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
        response.Headers.Pragma.Should().ContainSingle(p => p.Name == "no-cache");
        var json = await response.JsonAsync();
        json.GetProperty("token_type").GetString().Should().Be("Bearer");
        json.GetProperty("expires_in").GetInt32().Should().Be(300);
        json.GetProperty("scope").GetString().Should().Be("eligibility.check");
        var token = json.GetProperty("access_token").GetString()!;
        var (header, payload) = OAuthResponses.Decode(token);
        header.GetProperty("typ").GetString().Should().Be("at+jwt");
        header.GetProperty("alg").GetString().Should().Be("ES256");
        header.GetProperty("kid").GetString().Should().Be(gateway.KeyRing.ActiveSigningKey.KeyId);
        payload.GetProperty("iss").GetString().Should().Be(gateway.IssuerIdentifier);
        payload.GetProperty("aud").GetString().Should().Be("eligibility-gateway");
        payload.GetProperty("sub").GetString().Should().Be("leeds");
        payload.GetProperty("client_id").GetString().Should().Be("leeds");
        payload.GetProperty("scope").GetString().Should().Be("eligibility.check");
        payload.GetProperty("jti").GetString().Should().NotBeNullOrEmpty();
        var issuedAt = payload.GetProperty("iat").GetInt64();
        // RFC 9068 §2.2 asks for iat and exp; nbf is optional and the token is valid from iat.
        payload.TryGetProperty("nbf", out _).Should().BeFalse();
        payload.GetProperty("exp").GetInt64().Should().Be(issuedAt + 300);

        var jwks = new JsonWebKeySet(await gateway.Client.GetStringAsync(new Uri("/connect/jwks", UriKind.Relative)));
        var verified = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = gateway.IssuerIdentifier,
            ValidAudience = "eligibility-gateway",
            ValidTypes = ["at+jwt"],
            IssuerSigningKeys = jwks.GetSigningKeys(),
        });
        verified.IsValid.Should().BeTrue(verified.Exception?.Message);
    }

    [Theory]
    [InlineData(SandboxClients.Leeds, SandboxClients.LeedsSecret, "eligibility.check consents.manage")]
    [InlineData(SandboxClients.Auditor, SandboxClients.AuditorSecret, "audit.read")]
    public async Task Token_WithoutScope_GrantsEverythingTheClientKindMayHold(string clientId, string secret, string expected)
    {
        using var response = await gateway.PostTokenWithSecretAsync(clientId, secret);

        (await response.JsonAsync()).GetProperty("scope").GetString().Should().Be(expected);
    }

    [Fact]
    public async Task Token_WithScopesOutOfOrderAndRepeated_GrantsEachOnceInCanonicalOrder()
    {
        using var response = await gateway.PostTokenWithSecretAsync(SandboxClients.Leeds, SandboxClients.LeedsSecret, "consents.manage eligibility.check consents.manage");

        (await response.JsonAsync()).GetProperty("scope").GetString().Should().Be("eligibility.check consents.manage");
    }

    [Fact]
    public async Task Token_WithWrongSecret_IsInvalidClientWithABasicChallenge()
    {
        using var response = await gateway.PostTokenWithSecretAsync(SandboxClients.Leeds, "not-the-secret");

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
        response.Headers.WwwAuthenticate.Should().ContainSingle(h => h.Scheme == "Basic");
    }

    [Fact]
    public async Task Token_WithWrongSecretAfterASuccess_IsStillRefused()
    {
        (await gateway.TokenWithSecretAsync(SandboxClients.Leeds, SandboxClients.LeedsSecret)).Should().NotBeEmpty();

        using var response = await gateway.PostTokenWithSecretAsync(SandboxClients.Leeds, SandboxClients.LeedsSecret + "x");

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
        gateway.Service<VerifiedSecretCache>().Count.Should().Be(1);
    }

    [Fact]
    public async Task Token_WithAnotherClientsSecret_IsInvalidClient()
    {
        using var response = await gateway.PostTokenWithSecretAsync(SandboxClients.Leeds, SandboxClients.CamdenSecret);

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Fact]
    public async Task Token_ForAnUnknownClient_IsInvalidClient()
    {
        using var response = await gateway.PostTokenWithSecretAsync("york", "york-sandbox-secret");

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
        response.Headers.WwwAuthenticate.Should().ContainSingle(h => h.Scheme == "Basic");
    }

    [Theory]
    [InlineData("Basic !!!not-base64!!!")]
    [InlineData("Basic bGVlZHM=")]
    [InlineData("Bearer abc")]
    public async Task Token_WithAnUnreadableAuthorizationHeader_IsInvalidClient(string header)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token") { Content = new FormUrlEncodedContent([new("grant_type", "client_credentials")]) };
        request.Headers.TryAddWithoutValidation("Authorization", header);

        using var response = await gateway.Client.SendAsync(request);

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Fact]
    public async Task Token_WithClientIdAndSecretFormEncodedInBasic_DecodesThemFirst()
    {
        // RFC 6749 §2.3.1: "%6C%65%65%64%73" is "leeds" form-urlencoded; a conforming client may encode every byte.
        var header = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("%6C%65%65%64%73:" + SandboxClients.LeedsSecret)));

        using var response = await gateway.PostTokenAsync([new("grant_type", "client_credentials")], header);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Token_WithBasicAndAClientAssertion_IsInvalidRequest()
    {
        var form = ClientAssertions.Form("a.b.c");

        using var response = await gateway.PostTokenAsync(form, AuthorizationGateway.Basic(SandboxClients.Leeds, SandboxClients.LeedsSecret));

        (await response.ShouldBeOAuthErrorAsync(400, "invalid_request")).Should().Contain("More than one client authentication method");
    }

    [Fact]
    public async Task Token_WithBasicAndASecretInTheBody_IsInvalidRequest()
    {
        using var response = await gateway.PostTokenAsync(
            [new("grant_type", "client_credentials"), new("client_id", "leeds"), new("client_secret", SandboxClients.LeedsSecret)],
            AuthorizationGateway.Basic(SandboxClients.Leeds, SandboxClients.LeedsSecret));

        await response.ShouldBeOAuthErrorAsync(400, "invalid_request");
    }

    [Fact]
    public async Task Token_WithTheSecretInTheBodyOnly_IsInvalidClientBecauseClientSecretPostIsNotOffered()
    {
        using var response = await gateway.PostTokenAsync([new("grant_type", "client_credentials"), new("client_id", "leeds"), new("client_secret", SandboxClients.LeedsSecret)]);

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("client_secret_post");
    }

    [Fact]
    public async Task Token_WithNoClientAuthentication_IsInvalidClient()
    {
        using var response = await gateway.PostTokenAsync([new("grant_type", "client_credentials"), new("client_id", "leeds")]);

        await response.ShouldBeOAuthErrorAsync(401, "invalid_client");
    }

    [Fact]
    public async Task Token_WithBodyClientIdNamingAnotherClient_IsInvalidRequest()
    {
        using var response = await gateway.PostTokenAsync(
            [new("grant_type", "client_credentials"), new("client_id", "camden")],
            AuthorizationGateway.Basic(SandboxClients.Leeds, SandboxClients.LeedsSecret));

        await response.ShouldBeOAuthErrorAsync(400, "invalid_request");
    }

    [Theory]
    [InlineData("password")]
    [InlineData("implicit")]
    [InlineData("urn:ietf:params:oauth:grant-type:jwt-bearer")]
    public async Task Token_WithAnUnsupportedGrant_IsUnsupportedGrantType(string grantType)
    {
        using var response = await gateway.PostTokenAsync([new("grant_type", grantType)], AuthorizationGateway.Basic(SandboxClients.Leeds, SandboxClients.LeedsSecret));

        await response.ShouldBeOAuthErrorAsync(400, "unsupported_grant_type");
    }

    [Fact]
    public async Task Token_WithoutGrantType_IsInvalidRequest()
    {
        using var response = await gateway.PostTokenAsync([new("scope", "eligibility.check")], AuthorizationGateway.Basic(SandboxClients.Leeds, SandboxClients.LeedsSecret));

        await response.ShouldBeOAuthErrorAsync(400, "invalid_request");
    }

    [Fact]
    public async Task Token_WithARepeatedParameter_IsInvalidRequest()
    {
        using var response = await gateway.PostTokenAsync(
            [new("grant_type", "client_credentials"), new("scope", "eligibility.check"), new("scope", "audit.read")],
            AuthorizationGateway.Basic(SandboxClients.Leeds, SandboxClients.LeedsSecret));

        (await response.ShouldBeOAuthErrorAsync(400, "invalid_request")).Should().Contain("'scope' is repeated");
    }

    [Theory]
    [InlineData("application/json", "{\"grant_type\":\"client_credentials\"}")]
    [InlineData("text/plain", "grant_type=client_credentials")]
    [InlineData("multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--\r\n")]
    public async Task Token_WithABodyThatIsNotFormUrlEncoded_IsInvalidRequest(string contentType, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token") { Content = new StringContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Authorization = AuthorizationGateway.Basic(SandboxClients.Leeds, SandboxClients.LeedsSecret);

        using var response = await gateway.Client.SendAsync(request);

        await response.ShouldBeOAuthErrorAsync(400, "invalid_request");
    }

    [Fact]
    public async Task Token_WithAnOversizedBody_IsInvalidRequestNotAServerError()
    {
        using var response = await gateway.PostTokenAsync(
            [new("grant_type", "client_credentials"), new("padding", new string('a', 40_000))],
            AuthorizationGateway.Basic(SandboxClients.Leeds, SandboxClients.LeedsSecret));

        await response.ShouldBeOAuthErrorAsync(400, "invalid_request");
    }

    [Fact]
    public async Task Token_ByGet_IsMethodNotAllowedInOAuthForm()
    {
        using var response = await gateway.Client.GetAsync(new Uri("/connect/token?grant_type=client_credentials", UriKind.Relative));

        await response.ShouldBeOAuthErrorAsync(405, "invalid_request");
        response.Content.Headers.Allow.Should().Equal("POST");
    }

    [Theory]
    [InlineData(SandboxClients.Auditor, SandboxClients.AuditorSecret, "eligibility.check")]
    [InlineData(SandboxClients.Auditor, SandboxClients.AuditorSecret, "audit.read consents.manage")]
    [InlineData(SandboxClients.Leeds, SandboxClients.LeedsSecret, "audit.read")]
    [InlineData(SandboxClients.Leeds, SandboxClients.LeedsSecret, "eligibility.check openid")]
    [InlineData(SandboxClients.Leeds, SandboxClients.LeedsSecret, "eligibility.everything")]
    [InlineData(SandboxClients.Leeds, SandboxClients.LeedsSecret, "eligibility.check  consents.manage")]
    [InlineData(SandboxClients.Leeds, SandboxClients.LeedsSecret, "Eligibility.Check")]
    public async Task Token_WithAScopeTheClientMayNotHoldOrThatIsMalformed_IsInvalidScope(string clientId, string secret, string scope)
    {
        using var response = await gateway.PostTokenWithSecretAsync(clientId, secret, scope);

        await response.ShouldBeOAuthErrorAsync(400, "invalid_scope");
    }
}

/// <summary>Token endpoint rules that need a framework, a clock or a recorder of their own.</summary>
public sealed class TokenEndpointPolicyTests
{
    [Fact]
    public async Task Token_WithASecretUnderANonSandboxFramework_IsRefusedWithoutComparingIt()
    {
        using var framework = new KeyedFramework();
        await using var gateway = await AuthorizationGateway.StartAsync(framework.Path);

        using var response = await gateway.PostTokenWithSecretAsync(KeyedFramework.CouncilClientId, "any-secret");

        (await response.ShouldBeOAuthErrorAsync(401, "invalid_client")).Should().Contain("sandbox");
        response.Headers.WwwAuthenticate.Should().ContainSingle(h => h.Scheme == "Basic");
    }

    [Fact]
    public async Task Token_BeforeTheFrameworkTakesEffect_IsUnauthorizedClient()
    {
        using var framework = new KeyedFramework(effectiveFrom: "2099-01-01T00:00:00Z");
        await using var gateway = await AuthorizationGateway.StartAsync(framework.Path);
        var claims = ClientAssertions.Claims(KeyedFramework.CouncilClientId, gateway.DerivedIssuer, TimeProvider.System.GetUtcNow());

        using var response = await gateway.PostTokenAsync(ClientAssertions.Form(ClientAssertions.SignEs256(framework.CouncilKey, KeyedFramework.CouncilKid, claims)));

        await response.ShouldBeOAuthErrorAsync(400, "unauthorized_client");
    }

    [Fact]
    public async Task Token_IsRecordedBeforeItIsReleased()
    {
        var recorder = new CapturingRecorder();
        await using var gateway = await AuthorizationGateway.StartAsync(SandboxClients.FrameworkPath, services: s => s.AddSingleton<IAccessTokenIssuanceRecorder>(recorder));

        var token = await gateway.TokenWithSecretAsync(SandboxClients.Camden, SandboxClients.CamdenSecret, "consents.manage");

        var issued = recorder.Issued.Should().ContainSingle().Subject;
        issued.TokenId.Should().Be(OAuthResponses.Decode(token).Payload.GetProperty("jti").GetString());
        issued.ClientId.Should().Be("camden");
        issued.ParticipantId.Should().Be("camden");
        issued.ClientKind.Should().Be(ClientKind.Council);
        issued.GrantType.Should().Be("client_credentials");
        issued.ClientAuthenticationMethod.Should().Be("client_secret_basic");
        issued.Scopes.Should().Equal("consents.manage");
        issued.FrameworkId.Should().Be("eligibility-gateway-sandbox");
        issued.ToString().Should().NotContain(token);
    }

    [Fact]
    public async Task Token_WhenTheIssuanceCannotBeRecorded_IsServiceUnavailableAndReleasesNoToken()
    {
        await using var gateway = await AuthorizationGateway.StartAsync(SandboxClients.FrameworkPath, services: s => s.AddSingleton<IAccessTokenIssuanceRecorder>(new FailingRecorder()));

        using var response = await gateway.PostTokenWithSecretAsync(SandboxClients.Leeds, SandboxClients.LeedsSecret);

        await response.ShouldBeOAuthErrorAsync(503, "temporarily_unavailable");
        (await response.Content.ReadAsStringAsync()).Should().NotContain("access_token");
    }

    [Fact]
    public async Task Token_AfterTheFrameworkChangesTheSecret_RefusesTheRememberedOldSecret()
    {
        var directory = Directory.CreateTempSubdirectory("sandbox-copy-").FullName;
        try
        {
            var path = Path.Combine(directory, "sandbox.yaml");
            var original = await File.ReadAllTextAsync(SandboxClients.FrameworkPath);
            await File.WriteAllTextAsync(path, original);
            await using var gateway = await AuthorizationGateway.StartAsync(path);
            await gateway.TokenWithSecretAsync(SandboxClients.Leeds, SandboxClients.LeedsSecret);
            var leedsHash = original.Split('\n').First(l => l.Contains("secret_hash:", StringComparison.Ordinal)).Split("secret_hash:")[1].Trim();
            var monitor = gateway.Service<TrustFrameworkMonitor>();
            var before = monitor.Current;

            await File.WriteAllTextAsync(path, original.ReplaceOnce(leedsHash, SecretHash.Create("leeds-rotated-secret", SecretHash.MinimumIterations).ToString()));
            await WaitUntilAsync(() => !ReferenceEquals(monitor.Current, before));

            using var old = await gateway.PostTokenWithSecretAsync(SandboxClients.Leeds, SandboxClients.LeedsSecret);
            await old.ShouldBeOAuthErrorAsync(401, "invalid_client");
            (await gateway.TokenWithSecretAsync(SandboxClients.Leeds, "leeds-rotated-secret")).Should().NotBeEmpty();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var waited = 0; !condition(); waited += 20)
        {
            waited.Should().BeLessThan(10_000, "the trust framework should reload within seconds");
            await Task.Delay(20);
        }
    }

    private sealed class CapturingRecorder : IAccessTokenIssuanceRecorder
    {
        public List<IssuedAccessToken> Issued { get; } = [];

        public ValueTask RecordAsync(IssuedAccessToken issued, CancellationToken cancellationToken)
        {
            Issued.Add(issued);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class FailingRecorder : IAccessTokenIssuanceRecorder
    {
        public ValueTask RecordAsync(IssuedAccessToken issued, CancellationToken cancellationToken) =>
            throw new IOException("The audit store is unavailable.");
    }
}
