using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Tests.TrustFramework;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Tests.Authorization;

/// <summary>Sandbox clients and secrets (root README, "Sandbox fixtures").</summary>
internal static class SandboxClients
{
    public const string Leeds = "leeds";
    public const string LeedsSecret = "leeds-sandbox-secret";
    public const string Camden = "camden";
    public const string CamdenSecret = "camden-sandbox-secret";
    public const string Auditor = "auditor";
    public const string AuditorSecret = "auditor-sandbox-secret";

    public static string FrameworkPath => TrustFrameworkFiles.SandboxPath;
}

/// <summary>
/// A production-style framework (private_key_jwt only) written to a temporary file, with freshly generated key
/// pairs whose public halves it declares: an EC P-256 council, an RSA council and an EC auditor.
/// </summary>
internal sealed class KeyedFramework : IDisposable
{
    public const string CouncilClientId = "urn:gov.uk:council:leeds";
    public const string CouncilKid = "leeds-2026";
    public const string RsaCouncilClientId = "urn:gov.uk:council:bristol";
    public const string RsaCouncilKid = "bristol-2026";
    public const string AuditorClientId = "urn:gov.uk:auditor:ico";
    public const string AuditorKid = "ico-2026";

    private readonly string directory = Directory.CreateTempSubdirectory("keyed-framework-").FullName;

    public KeyedFramework(string effectiveFrom = "2026-01-01T00:00:00Z")
    {
        Path = System.IO.Path.Combine(directory, "framework.yaml");
        File.WriteAllText(Path, Yaml(effectiveFrom));
    }

    public string Path { get; }

    public ECDsa CouncilKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public RSA RsaCouncilKey { get; } = RSA.Create(2048);

    public ECDsa AuditorKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The council's public key exactly as the framework publishes it (x, y base64url).</summary>
    public (string X, string Y) CouncilPublic => Public(CouncilKey);

    public string Yaml(string effectiveFrom)
    {
        var council = Public(CouncilKey);
        var auditor = Public(AuditorKey);
        var rsa = RsaCouncilKey.ExportParameters(includePrivateParameters: false);
        return $$"""
            id: keyed-test
            version: 1.0.0
            effective_from: {{effectiveFrom}}
            sandbox: false
            providers:
              - id: dwp
                name: Department for Work and Pensions
                base_url: https://dwp.example.gov.uk/eligibility
                attempt_timeout: PT2S
                total_timeout: PT5S
                max_concurrency: 8
                rate_limit: { limit: 100, window: PT1S }
            councils:
              - id: leeds
                name: Leeds City Council
                client_id: {{CouncilClientId}}
                client_authentication:
                  method: private_key_jwt
                  jwks:
                    keys:
                      - kty: EC
                        crv: P-256
                        kid: {{CouncilKid}}
                        use: sig
                        alg: ES256
                        x: {{council.X}}
                        y: {{council.Y}}
                rate_limit: { limit: 600, window: PT1M }
              - id: bristol
                name: Bristol City Council
                client_id: {{RsaCouncilClientId}}
                client_authentication:
                  method: private_key_jwt
                  jwks:
                    keys:
                      - kty: RSA
                        kid: {{RsaCouncilKid}}
                        use: sig
                        n: {{Base64Url.EncodeToString(rsa.Modulus)}}
                        e: {{Base64Url.EncodeToString(rsa.Exponent)}}
                rate_limit: { limit: 600, window: PT1M }
            auditors:
              - id: ico
                name: Information Commissioner's Office
                client_id: {{AuditorClientId}}
                client_authentication:
                  method: private_key_jwt
                  jwks:
                    keys:
                      - kty: EC
                        crv: P-256
                        kid: {{AuditorKid}}
                        x: {{auditor.X}}
                        y: {{auditor.Y}}
                scope: all
            schemes:
              - id: free-school-meals
                name: Free school meals
                legislation: Education Act 1996 s.512ZB
                questions:
                  - { provider: dwp, question: free-school-meals-benefits }
                combine: any-eligible
                cache_ttl: PT24H
                max_consent_duration: P90D
                audit_retention: P2190D
            permissions:
              - council: leeds
                scheme: free-school-meals
                lawful_bases:
                  - basis: consent
                purpose: dpv:ServiceProvision
            """ + "\n";
    }

    private static (string X, string Y) Public(ECDsa key)
    {
        var parameters = key.ExportParameters(includePrivateParameters: false);
        return (Base64Url.EncodeToString(parameters.Q.X), Base64Url.EncodeToString(parameters.Q.Y));
    }

    public void Dispose()
    {
        CouncilKey.Dispose();
        RsaCouncilKey.Dispose();
        AuditorKey.Dispose();
        Directory.Delete(directory, recursive: true);
    }
}

/// <summary>Builds client assertions (RFC 7523 §3), well-formed or broken in exactly one way.</summary>
internal static class ClientAssertions
{
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>The claims of a valid assertion from <paramref name="clientId"/> to <paramref name="audience"/>, issued at <paramref name="now"/>.</summary>
    public static Dictionary<string, object> Claims(string clientId, string audience, DateTimeOffset now) => new()
    {
        ["iss"] = clientId,
        ["sub"] = clientId,
        ["aud"] = audience,
        ["iat"] = now.ToUnixTimeSeconds(),
        ["exp"] = now.AddSeconds(60).ToUnixTimeSeconds(),
        ["jti"] = Guid.NewGuid().ToString("N"),
    };

    public static string SignEs256(ECDsa key, string kid, IDictionary<string, object> claims) =>
        Sign(new ECDsaSecurityKey(key) { KeyId = kid }, SecurityAlgorithms.EcdsaSha256, claims);

    public static string Sign(SecurityKey key, string algorithm, IDictionary<string, object> claims) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }
            .CreateToken(JsonSerializer.Serialize(claims), new SigningCredentials(key, algorithm));

    /// <summary>RFC 7519 §6 unsecured JWT: <c>alg: none</c>, empty signature.</summary>
    public static string Unsigned(IDictionary<string, object> claims) =>
        Encode(new { alg = "none", typ = "JWT" }) + "." + Encode(claims) + ".";

    /// <summary>An HS256 MAC keyed with <paramref name="secret"/>: the algorithm-confusion attack when the secret is a public key.</summary>
    public static string Hs256(byte[] secret, string kid, IDictionary<string, object> claims)
    {
        var signingInput = Encode(new { alg = "HS256", typ = "JWT", kid }) + "." + Encode(claims);
        return signingInput + "." + Base64Url.EncodeToString(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(signingInput)));
    }

    public static string Encode(object value) => Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(value));

    public static List<KeyValuePair<string, string>> Form(string assertion, string? scope = null)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "client_credentials"),
            new("client_assertion_type", AssertionType),
            new("client_assertion", assertion),
        };
        if (scope is not null)
        {
            form.Add(new("scope", scope));
        }

        return form;
    }
}
