using System.Buffers.Text;
using System.Security.Cryptography;
using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Tests.TrustFramework;

/// <summary>Paths of the committed framework files, and a small valid framework for tests to break one rule at a time.</summary>
internal static class TrustFrameworkFiles
{
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    public static string SandboxPath => Path.Combine(RepositoryRoot, "trust-frameworks", "sandbox.yaml");

    public static string ExampleEnglandPath => Path.Combine(RepositoryRoot, "trust-frameworks", "example-england.yaml");

    public static string SchemaPath => Path.Combine(RepositoryRoot, "contracts", "trust-framework.schema.json");

    /// <summary>The name errors carry in <see cref="Load"/>; mirrors a relative configured path.</summary>
    public const string FileName = "trust-frameworks/test.yaml";

    public static TrustFrameworkLoadResult Load(string yaml) =>
        TrustFrameworkLoader.Parse(System.Text.Encoding.UTF8.GetBytes(yaml), FileName);

    public static TrustFrameworkSnapshot LoadSnapshot(string path)
    {
        var result = TrustFrameworkLoader.LoadFile(path, path);
        result.Errors.Should().BeEmpty();
        return new TrustFrameworkSnapshot(result.Definition!, path, result.Sha256, DateTimeOffset.UnixEpoch);
    }

    /// <summary>1-based line of the <paramref name="occurrence"/>th line containing <paramref name="marker"/>.</summary>
    public static int LineOf(string yaml, string marker, int occurrence = 1)
    {
        var lines = yaml.Split('\n');
        var seen = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Contains(marker, StringComparison.Ordinal) && ++seen == occurrence)
            {
                return i + 1;
            }
        }

        throw new ArgumentException($"'{marker}' (occurrence {occurrence}) is not in the YAML.", nameof(marker));
    }

    /// <summary>Replaces exactly one occurrence, so a test cannot silently break nothing.</summary>
    public static string ReplaceOnce(this string yaml, string oldValue, string newValue)
    {
        var index = yaml.IndexOf(oldValue, StringComparison.Ordinal);
        if (index < 0 || yaml.IndexOf(oldValue, index + 1, StringComparison.Ordinal) >= 0)
        {
            throw new ArgumentException($"'{oldValue}' must occur exactly once in the YAML.", nameof(oldValue));
        }

        return string.Concat(yaml.AsSpan(0, index), newValue, yaml.AsSpan(index + oldValue.Length));
    }

    /// <summary>A fresh P-256 public key as JWK members.</summary>
    public static (string X, string Y) NewEcPublicKey()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var parameters = key.ExportParameters(includePrivateParameters: false);
        return (Base64Url.EncodeToString(parameters.Q.X), Base64Url.EncodeToString(parameters.Q.Y));
    }

    /// <summary>A valid production framework (private_key_jwt, https) that tests change one line at a time.</summary>
    public static string ValidProduction()
    {
        var leeds = NewEcPublicKey();
        var camden = NewEcPublicKey();
        var ico = NewEcPublicKey();
        return $$"""
            id: test-framework
            version: 1.0.0
            effective_from: 2026-01-01T00:00:00Z
            sandbox: false
            providers:
              - id: dwp
                name: Department for Work and Pensions
                base_url: https://dwp.example.gov.uk/eligibility
                attempt_timeout: PT2S
                total_timeout: PT5S
                max_concurrency: 8
                rate_limit: { limit: 100, window: PT1S }
              - id: hmrc
                name: HM Revenue and Customs
                base_url: https://hmrc.example.gov.uk
                attempt_timeout: PT2S
                total_timeout: PT5S
                max_concurrency: 8
                rate_limit: { limit: 100, window: PT1S }
            councils:
              - id: leeds
                name: Leeds City Council
                client_id: leeds-client
                client_authentication:
                  method: private_key_jwt
                  jwks:
                    keys:
                      - kty: EC
                        crv: P-256
                        kid: leeds-1
                        x: {{leeds.X}}
                        y: {{leeds.Y}}
                rate_limit: { limit: 600, window: PT1M }
              - id: camden
                name: London Borough of Camden
                client_id: camden-client
                client_authentication:
                  method: private_key_jwt
                  jwks:
                    keys:
                      - kty: EC
                        crv: P-256
                        kid: camden-1
                        x: {{camden.X}}
                        y: {{camden.Y}}
                rate_limit: { limit: 600, window: PT1M }
            auditors:
              - id: ico
                name: Information Commissioner's Office
                client_id: ico-client
                client_authentication:
                  method: private_key_jwt
                  jwks:
                    keys:
                      - kty: EC
                        crv: P-256
                        kid: ico-1
                        x: {{ico.X}}
                        y: {{ico.Y}}
                scope: all
            schemes:
              - id: free-school-meals
                name: Free school meals
                legislation: Education Act 1996 s.512ZB
                questions:
                  - { provider: dwp, question: free-school-meals-benefits }
                  - { provider: hmrc, question: free-school-meals-tax-credits }
                combine: any-eligible
                cache_ttl: PT24H
                max_consent_duration: P90D
                audit_retention: P2190D
              - id: council-tax-support
                name: Council tax support
                legislation: Local Government Finance Act 1992 s.13A
                questions:
                  - { provider: dwp, question: council-tax-support-benefits }
                combine: any-eligible
                release: [outcome]
                cache_ttl: PT12H
                max_consent_duration: P30D
                audit_retention: P2190D
            permissions:
              - council: leeds
                scheme: free-school-meals
                lawful_bases:
                  - basis: consent
                  - basis: public-task
                    legal_reference: Digital Economy Act 2017 s.35, multiple disadvantages objective
                    isa_reference: ISA-LEEDS-001
                purpose: dpv:ServiceProvision
              - council: camden
                scheme: council-tax-support
                lawful_bases:
                  - basis: consent
                purpose: dpv:ServiceProvision
            """ + "\n";
    }

    private static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EligibilityGateway.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (with EligibilityGateway.sln) is not above " + AppContext.BaseDirectory);
    }
}
