using System.Net;
using System.Text.Json;
using EligibilityGateway.Authorization;
using EligibilityGateway.Tests.TrustFramework;
using EligibilityGateway.TrustFramework;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>The API side: the Bearer scheme, scope policies and the caller helpers, against probe endpoints.</summary>
public sealed class BearerValidationTests : IAsyncLifetime
{
    private readonly ManualTimeProvider clock = new(TimeProvider.System.GetUtcNow());
    private AuthorizationGateway gateway = null!;

    public async Task InitializeAsync() => gateway = await AuthorizationGateway.StartAsync(SandboxClients.FrameworkPath, clock);

    public async Task DisposeAsync() => await gateway.DisposeAsync();

    private Task<string> LeedsTokenAsync() => gateway.TokenWithSecretAsync(SandboxClients.Leeds, SandboxClients.LeedsSecret);

    [Fact]
    public async Task Probe_WithACouncilToken_KnowsTheCallerAndItsCouncil()
    {
        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, await LeedsTokenAsync());

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var json = await response.JsonAsync();
        json.GetProperty("clientId").GetString().Should().Be("leeds");
        json.GetProperty("council").GetString().Should().Be("leeds");
        json.GetProperty("auditor").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public async Task Probe_WithAnAuditorToken_KnowsTheAuditorAndNoCouncil()
    {
        var token = await gateway.TokenWithSecretAsync(SandboxClients.Auditor, SandboxClients.AuditorSecret);

        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.AuditProbe, token);

        var json = await response.JsonAsync();
        json.GetProperty("auditor").GetString().Should().Be("auditor");
        json.GetProperty("council").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Fact]
    public async Task Probe_WithoutAToken_Is401WithABareBearerChallenge()
    {
        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token: null);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.Should().ContainSingle().Which.ToString().Should().Be("Bearer");
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
    }

    [Fact]
    public async Task Probe_WithABadSignature_Is401InvalidToken()
    {
        var token = await LeedsTokenAsync();
        var parts = token.Split('.');
        var signature = Base64UrlEncoder.DecodeBytes(parts[2]);
        signature[10] ^= 0x01;

        await ShouldBeInvalidTokenAsync($"{parts[0]}.{parts[1]}.{Base64UrlEncoder.Encode(signature)}", "signature");
    }

    [Fact]
    public async Task Probe_WithAnAlteredPayload_Is401InvalidToken()
    {
        var token = await gateway.TokenWithSecretAsync(SandboxClients.Leeds, SandboxClients.LeedsSecret, "consents.manage");
        var parts = token.Split('.');
        var payload = Base64UrlEncoder.Decode(parts[1]).Replace("\"consents.manage\"", "\"eligibility.check\"", StringComparison.Ordinal);

        await ShouldBeInvalidTokenAsync($"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}", "signature");
    }

    [Fact]
    public async Task Probe_WithAnAlteredCopyOfACachedToken_IsStillRefused()
    {
        var token = await LeedsTokenAsync();
        using (var first = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token))
        {
            first.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        var parts = token.Split('.');
        var payload = Base64UrlEncoder.Decode(parts[1]).Replace("\"leeds\"", "\"camden\"", StringComparison.Ordinal);

        await ShouldBeInvalidTokenAsync($"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}", "signature");
    }

    [Fact]
    public async Task Probe_WithAnAlgNoneToken_Is401InvalidToken()
    {
        var payload = OAuthResponses.Decode(await LeedsTokenAsync()).Payload;
        var unsigned = ClientAssertions.Encode(new { alg = "none", typ = "at+jwt" }) + "." + Base64UrlEncoder.Encode(payload.GetRawText()) + ".";

        await ShouldBeInvalidTokenAsync(unsigned);
    }

    [Fact]
    public async Task Probe_WithATokenThatExpiredAfterItWasAccepted_Is401()
    {
        var token = await LeedsTokenAsync();
        using (var first = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token))
        {
            first.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        clock.Now += TimeSpan.FromMinutes(5) + GatewayBearer.ClockSkew;

        await ShouldBeInvalidTokenAsync(token, "expired");
    }

    [Fact]
    public async Task Probe_WithATokenThatExpiredBeforeItWasFirstSeen_Is401()
    {
        var token = await LeedsTokenAsync();
        clock.Now += TimeSpan.FromMinutes(6);

        await ShouldBeInvalidTokenAsync(token, "expired");
    }

    [Fact]
    public async Task Probe_WithinTheClockSkewAfterExpiry_IsStillAccepted()
    {
        var token = await LeedsTokenAsync();
        clock.Now += TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(20);

        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Probe_WithATokenForAnotherAudience_Is401InvalidToken() =>
        await ShouldBeInvalidTokenAsync(Mint(d => d.Audience = "another-api"), "aud");

    [Fact]
    public async Task Probe_WithATokenFromAnotherIssuer_Is401InvalidToken() =>
        await ShouldBeInvalidTokenAsync(Mint(d => d.Issuer = "https://attacker.example"), "issued");

    [Fact]
    public async Task Probe_WithAJwtThatIsNotAnAccessToken_Is401InvalidToken() =>
        await ShouldBeInvalidTokenAsync(Mint(d => d.TokenType = "JWT"), "typ");

    [Theory]
    [InlineData("client_id", 5, "as strings")]
    [InlineData("scope", 7, "as strings")]
    [InlineData("sub", 9, "as strings")]
    [InlineData("jti", 3, "access token")]
    public async Task Probe_WithASignedTokenWhoseClaimHasTheWrongType_Is401NotAServerError(string claim, int value, string reason) =>
        await ShouldBeInvalidTokenAsync(Mint(d => d.Claims[claim] = value), reason);

    [Fact]
    public async Task Probe_WithATokenSignedByTheOtherPublishedRingKey_IsAccepted()
    {
        var other = gateway.KeyRing.SigningKeys.Single(k => k.KeyId != gateway.KeyRing.ActiveSigningKey.KeyId);

        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, Mint(d => d.SigningCredentials = new SigningCredentials(other, SecurityAlgorithms.EcdsaSha256)));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Probe_WithAMintedTokenControl_IsAccepted()
    {
        // The baseline the negative Mint cases change one field of: proves those fail for that field alone.
        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, Mint(_ => { }));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Probe_WithoutTheRequiredScope_Is403InsufficientScope()
    {
        var token = await gateway.TokenWithSecretAsync(SandboxClients.Leeds, SandboxClients.LeedsSecret, "consents.manage");

        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        response.Headers.WwwAuthenticate.Should().ContainSingle().Which.ToString().Should().Be("Bearer error=\"insufficient_scope\", scope=\"eligibility.check\"");
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.JsonAsync()).GetProperty("type").GetString().Should().Be("urn:eligibility-gateway:problem:insufficient-scope");
    }

    [Fact]
    public async Task Probe_ForAuditRead_WithACouncilToken_Is403()
    {
        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.AuditProbe, await LeedsTokenAsync());

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer a b")]
    [InlineData("Bearer {\"alg\":\"none\"}")]
    public async Task Probe_WithAMalformedBearerHeader_Is401InvalidToken(string header)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, AuthorizationGateway.CheckProbe);
        request.Headers.TryAddWithoutValidation("Authorization", header);

        using var response = await gateway.Client.SendAsync(request);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Headers.WwwAuthenticate.Single().Parameter.Should().StartWith("error=\"invalid_token\"");
    }

    private async Task ShouldBeInvalidTokenAsync(string token, string? descriptionContains = null)
    {
        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        var challenge = response.Headers.WwwAuthenticate.Should().ContainSingle().Subject;
        challenge.Scheme.Should().Be("Bearer");
        challenge.Parameter.Should().StartWith("error=\"invalid_token\"");
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var problem = await response.JsonAsync();
        problem.GetProperty("type").GetString().Should().Be("urn:eligibility-gateway:problem:invalid-token");
        problem.GetProperty("status").GetInt32().Should().Be(401);
        if (descriptionContains is not null)
        {
            problem.GetProperty("detail").GetString().Should().Contain(descriptionContains);
        }
    }

    /// <summary>A token shaped like the gateway's, signed with its active key, with one thing changed.</summary>
    private string Mint(Action<SecurityTokenDescriptor> change)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        var descriptor = new SecurityTokenDescriptor
        {
            TokenType = "at+jwt",
            Issuer = gateway.DerivedIssuer,
            Audience = "eligibility-gateway",
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(5),
            SigningCredentials = new SigningCredentials(gateway.KeyRing.ActiveSigningKey, SecurityAlgorithms.EcdsaSha256),
            Claims = new Dictionary<string, object> { ["sub"] = "leeds", ["client_id"] = "leeds", ["scope"] = "eligibility.check", ["jti"] = Guid.NewGuid().ToString("N") },
        };
        change(descriptor);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }
}

/// <summary>Removing a participant from the framework disables its tokens at once.</summary>
public sealed class ParticipantRemovalTests
{
    [Fact]
    public async Task Probe_WithATokenWhoseCouncilWasRemovedFromTheFramework_Is401()
    {
        var directory = Directory.CreateTempSubdirectory("sandbox-copy-").FullName;
        try
        {
            var path = Path.Combine(directory, "sandbox.yaml");
            var original = await File.ReadAllTextAsync(SandboxClients.FrameworkPath);
            await File.WriteAllTextAsync(path, original);
            await using var gateway = await AuthorizationGateway.StartAsync(path);
            var token = await gateway.TokenWithSecretAsync(SandboxClients.Camden, SandboxClients.CamdenSecret);
            using (var before = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token))
            {
                before.StatusCode.Should().Be(HttpStatusCode.OK);
            }

            var monitor = gateway.Service<TrustFrameworkMonitor>();
            var loaded = monitor.Current;
            await File.WriteAllTextAsync(path, WithoutCamden(original));
            await TokenEndpointPolicyTests.WaitUntilAsync(() => !ReferenceEquals(monitor.Current, loaded));

            using var after = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token);
            after.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            (await after.JsonAsync()).GetProperty("detail").GetString().Should().Contain("not in the trust framework");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The sandbox framework without the Camden council and its permission.</summary>
    private static string WithoutCamden(string yaml)
    {
        var council = yaml.IndexOf("  - id: camden\n", StringComparison.Ordinal);
        var auditors = yaml.IndexOf("\nauditors:", StringComparison.Ordinal);
        var permission = yaml.IndexOf("  - council: camden\n", StringComparison.Ordinal);
        // The permission runs up to the next top-level key; comments above that key go with it.
        var users = yaml.IndexOf("\nsandbox_users:", StringComparison.Ordinal);
        council.Should().BePositive();
        permission.Should().BeGreaterThan(auditors);
        users.Should().BeGreaterThan(permission);
        var withoutPermission = yaml[..permission] + yaml[users..].TrimStart('\n').Insert(0, "\n");
        return withoutPermission[..council] + withoutPermission[(auditors + 1)..];
    }
}
