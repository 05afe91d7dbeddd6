using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.EndToEnd;

/// <summary>Every way a bearer token can be wrong, presented to <c>POST /v1/checks</c> itself.</summary>
public sealed class TokenFailureTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>
{
    public static TheoryData<string> Forgeries => new() { "none", "bad-signature", "altered-payload", "alg-none", "expired", "wrong-audience", "wrong-issuer", "missing-scope", "unknown-client", "hs256-with-public-key" };

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task Check_WithAnUnacceptableToken_IsRefusedBeforeAnythingIsLookedUp(string forgery)
    {
        var token = forgery switch
        {
            "none" => null,
            "bad-signature" => Sign(Claims(), ECDsa.Create(ECCurve.NamedCurves.nistP256), ActiveKey().KeyId),
            "altered-payload" => AlterPayload(await sandbox.TokenAsync()),
            "alg-none" => Unsigned(Claims()),
            "expired" => Sign(Claims(expires: DateTime.UnixEpoch.AddYears(50))),
            "wrong-audience" => Sign(Claims(audience: "some-other-api")),
            "wrong-issuer" => Sign(Claims(issuer: "https://impostor.example")),
            "missing-scope" => await sandbox.TokenAsync(scope: "consents.manage"),
            "unknown-client" => Sign(Claims(clientId: "york")),
            "hs256-with-public-key" => SignSymmetric(Claims()),
            _ => throw new ArgumentOutOfRangeException(nameof(forgery)),
        };

        using var response = await sandbox.PostCheckAsync(token, Subjects.Check(Subjects.Smith, caseReference: $"FORGED-{forgery}"));

        var expected = forgery is "missing-scope" ? HttpStatusCode.Forbidden : HttpStatusCode.Unauthorized;
        response.StatusCode.Should().Be(expected, await response.Content.ReadAsStringAsync());
        if (expected == HttpStatusCode.Unauthorized)
        {
            response.Headers.WwwAuthenticate.Should().Contain(h => h.Scheme == "Bearer");
        }

        (await response.Content.ReadAsStringAsync()).Should().NotContain("eligible");
    }

    [Fact]
    public async Task Check_WithAGenuineToken_IsAccepted_SoTheForgeriesAboveFailForTheirOwnReason()
    {
        using var response = await sandbox.PostCheckAsync(Sign(Claims()), Subjects.Check(Subjects.Smith, caseReference: "GENUINE"));

        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private Dictionary<string, object> Claims(string clientId = "leeds", string audience = "eligibility-gateway", string? issuer = null, DateTime? expires = null)
    {
        var exp = expires ?? TimeProvider.System.GetUtcNow().UtcDateTime.AddMinutes(5);
        return new Dictionary<string, object>
        {
            ["iss"] = issuer ?? sandbox.Sandbox.GatewayAddress.GetLeftPart(UriPartial.Authority) + "/",
            ["aud"] = audience,
            ["sub"] = clientId,
            ["client_id"] = clientId,
            ["scope"] = "eligibility.check",
            ["jti"] = Guid.NewGuid().ToString(),
            ["iat"] = EpochTime.GetIntDate(exp.AddMinutes(-5)),
            ["nbf"] = EpochTime.GetIntDate(exp.AddMinutes(-5)),
            ["exp"] = EpochTime.GetIntDate(exp),
        };
    }

    /// <summary>The sandbox's own active signing key, read from its key directory: what a real token is signed with.</summary>
    private ECDsaSecurityKey ActiveKey()
    {
        var file = Directory.GetFiles(Path.Combine(sandbox.DataDirectory, "keys"), "token-signing-*.json").Order(StringComparer.Ordinal).Last();
        var jwk = new JsonWebKey(File.ReadAllText(file));
        var ecdsa = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = Base64UrlEncoder.DecodeBytes(jwk.X), Y = Base64UrlEncoder.DecodeBytes(jwk.Y) },
            D = Base64UrlEncoder.DecodeBytes(jwk.D),
        });
        return new ECDsaSecurityKey(ecdsa) { KeyId = jwk.KeyId };
    }

    private string Sign(Dictionary<string, object> claims) => Sign(claims, null, null);

    private string Sign(Dictionary<string, object> claims, ECDsa? otherKey, string? kid)
    {
        var key = otherKey is null ? ActiveKey() : new ECDsaSecurityKey(otherKey) { KeyId = kid };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            TokenType = "at+jwt",
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256),
        });
    }

    private string SignSymmetric(Dictionary<string, object> claims)
    {
        // The classic algorithm-confusion attack: HMAC keyed with the server's published public key.
        var key = ActiveKey();
        var publicJwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(key);
        var secret = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(publicJwk.X + publicJwk.Y)) { KeyId = key.KeyId };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            TokenType = "at+jwt",
            SigningCredentials = new SigningCredentials(secret, SecurityAlgorithms.HmacSha256),
        });
    }

    private static string Unsigned(Dictionary<string, object> claims)
    {
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"at+jwt"}""");
        var payload = Base64UrlEncoder.Encode(System.Text.Json.JsonSerializer.Serialize(claims));
        return $"{header}.{payload}.";
    }

    private static string AlterPayload(string token)
    {
        var parts = token.Split('.');
        var payload = Base64UrlEncoder.Decode(parts[1]).Replace("\"leeds\"", "\"camden\"", StringComparison.Ordinal);
        payload.Should().Contain("camden", "the alteration must change something");
        return $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";
    }
}
