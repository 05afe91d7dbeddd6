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
    private readonly FakeTimeProvider clock = new(TimeProvider.System.GetUtcNow());
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

        clock.Advance(TimeSpan.FromMinutes(5) + GatewayBearer.ClockSkew);

        await ShouldBeInvalidTokenAsync(token, "expired");
    }

    [Fact]
    public async Task Probe_WithATokenThatExpiredBeforeItWasFirstSeen_Is401()
    {
        var token = await LeedsTokenAsync();
        clock.Advance(TimeSpan.FromMinutes(6));

        await ShouldBeInvalidTokenAsync(token, "expired");
        gateway.Service<ValidatedAccessTokenCache>().Count.Should().Be(0);
    }

    [Fact]
    public async Task Probe_WithinTheClockSkewAfterExpiry_IsStillAccepted()
    {
        var token = await LeedsTokenAsync();
        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(20));

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

    [Fact]
    public async Task Probe_WithATokenNotValidYetBeyondTheClockSkew_Is401() =>
        await ShouldBeInvalidTokenAsync(Mint(d => d.NotBefore = clock.GetUtcNow().UtcDateTime.AddSeconds(45)), "not valid yet");

    [Fact]
    public async Task Probe_WithATokenNotValidYetWithinTheClockSkew_IsAccepted()
    {
        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, Mint(d => d.NotBefore = clock.GetUtcNow().UtcDateTime.AddSeconds(20)));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Probe_WithoutAnExpiry_Is401() =>
        await ShouldBeInvalidTokenAsync(Mint(d => d.Expires = null), "no expiry");

    [Fact]
    public async Task Probe_WithTheLongFormOfTheAccessTokenType_IsAccepted()
    {
        // RFC 9068 §4: typ may be written as the full media type.
        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, Mint(d => d.TokenType = "application/at+jwt"));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Probe_WithAnIdTokenOfTheGateway_Is401() =>
        // Same key, issuer and subject as an access token, but typ JWT and aud the council: never an access token
        // (refused for its aud first; Probe_WithAJwtThatIsNotAnAccessToken shows typ alone is enough).
        await ShouldBeInvalidTokenAsync(Mint(d => { d.TokenType = "JWT"; d.Audience = "leeds"; }));

    [Fact]
    public async Task Probe_WithACritHeader_Is401()
    {
        // RFC 7515 §4.1.11: critical extensions the recipient does not understand make the JWS invalid.
        await ShouldBeInvalidTokenAsync(Mint(d => d.AdditionalHeaderClaims = new Dictionary<string, object> { ["crit"] = new[] { "exp" } }), "critical");
    }

    [Fact]
    public async Task Probe_WithAKidNotInTheRing_Is401()
    {
        using var stranger = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var key = new ECDsaSecurityKey(stranger) { KeyId = "not-in-the-ring" };

        await ShouldBeInvalidTokenAsync(Mint(d => d.SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256)), "signature");
    }

    [Fact]
    public async Task Probe_WithAForeignKeyClaimingARingKid_Is401()
    {
        using var stranger = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var key = new ECDsaSecurityKey(stranger) { KeyId = gateway.KeyRing.ActiveSigningKey.KeyId };

        await ShouldBeInvalidTokenAsync(Mint(d => d.SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256)), "signature");
    }

    [Fact]
    public async Task Probe_WithoutAKid_Is401()
    {
        // The gateway always names its key; a token that does not is not tried against every key of the ring.
        var unnamed = new ECDsaSecurityKey(gateway.KeyRing.ActiveSigningKey.ECDsa);

        await ShouldBeInvalidTokenAsync(Mint(d => d.SigningCredentials = new SigningCredentials(unnamed, SecurityAlgorithms.EcdsaSha256)), "signature");
    }

    [Fact]
    public async Task Probe_WithTwoAudiencesOneOfThemOurs_IsAccepted()
    {
        // RFC 9068 §4: aud must contain this resource server's identifier. Naming other resources too is the issuer's
        // decision (a token for several APIs), not a forgery: the signature is the gateway's.
        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, Mint(d =>
        {
            d.Audience = null;
            d.Claims[AccessTokenClaims.AudienceClaim] = new[] { "eligibility-gateway", "another-api" };
        }));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Probe_WithAnRs256TokenUnderAnRsaKeyNamedAsARingKey_Is401()
    {
        // RFC 8725 §3.1: only ES256 is accepted, whatever key the attacker signs with.
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var key = new RsaSecurityKey(rsa) { KeyId = gateway.KeyRing.ActiveSigningKey.KeyId };

        await ShouldBeInvalidTokenAsync(Mint(d => d.SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.RsaSha256)));
    }

    [Fact]
    public async Task Probe_WithTheTokenInTheQueryOrForm_Is401WithABareChallenge()
    {
        // RFC 6750 §2.1 only: the query (§2.3) and form (§2.2) forms are not read.
        var token = await LeedsTokenAsync();
        using var query = await gateway.Client.GetAsync($"{AuthorizationGateway.CheckProbe}?access_token={token}");
        using var form = new HttpRequestMessage(HttpMethod.Get, AuthorizationGateway.CheckProbe)
        {
            Content = new FormUrlEncodedContent([new KeyValuePair<string, string>("access_token", token)]),
        };
        using var body = await gateway.Client.SendAsync(form);

        foreach (var response in new[] { query, body })
        {
            response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
            response.Headers.WwwAuthenticate.Should().ContainSingle().Which.ToString().Should().Be("Bearer");
        }
    }

    [Fact]
    public async Task Probe_WithATokenLongerThanAnyTheGatewayIssues_Is401Malformed() =>
        await ShouldBeInvalidTokenAsync(Mint(d => d.Claims["padding"] = new string('x', GatewayBearer.MaximumTokenLength)), "malformed");

    [Fact]
    public async Task Probe_WithARevokedToken_Is401()
    {
        var token = await LeedsTokenAsync();
        using (var first = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token))
        {
            first.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        gateway.Service<RevokedAccessTokens>().Revoke(OAuthResponses.Decode(token).Payload.GetProperty("jti").GetString()!);

        await ShouldBeInvalidTokenAsync(token, "revoked");
    }

    [Fact]
    public async Task Probe_WithATokenCarryingClaimsBeyondRfc9068_GivesAPrincipalOfTheDocumentedShapeOnly()
    {
        // An issuer may add claims of its own (another library does); the principal holds only what the API reads.
        using var response = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, Mint(d =>
        {
            d.Claims["oi_prst"] = "leeds";
            d.Claims[AccessTokenClaims.Scope] = "eligibility.check consents.manage";
        }));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var json = await response.JsonAsync();
        json.GetProperty("name").GetString().Should().Be("leeds");
        json.GetProperty("claims").EnumerateArray().Select(c => c.GetString()).Where(c => !c!.StartsWith("jti=", StringComparison.Ordinal))
            .Should().Equal("client_id=leeds", "sub=leeds", "scope=eligibility.check", "scope=consents.manage");
        json.GetProperty("claims").EnumerateArray().Count(c => c.GetString()!.StartsWith("jti=", StringComparison.Ordinal)).Should().Be(1);
    }

    [Fact]
    public async Task Probe_CalledTwiceWithOneToken_VerifiesItsSignatureOnce()
    {
        var token = await LeedsTokenAsync();
        var cache = gateway.Service<ValidatedAccessTokenCache>();
        var before = cache.Count;

        using var first = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token);
        using var second = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token);

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        second.StatusCode.Should().Be(HttpStatusCode.OK);
        cache.Count.Should().Be(before + 1);
    }

    [Fact]
    public async Task Probe_WithACachedTokenThatIsThenRevoked_IsRefusedWithTheReason()
    {
        var token = await LeedsTokenAsync();
        using (var first = await gateway.GetWithTokenAsync(AuthorizationGateway.CheckProbe, token))
        {
            first.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        gateway.Service<ValidatedAccessTokenCache>().Count.Should().BePositive();
        gateway.Service<RevokedAccessTokens>().Revoke(OAuthResponses.Decode(token).Payload.GetProperty("jti").GetString()!);

        await ShouldBeInvalidTokenAsync(token, "revoked");
        await ShouldBeInvalidTokenAsync(token, "revoked");
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
            Issuer = gateway.IssuerIdentifier,
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
