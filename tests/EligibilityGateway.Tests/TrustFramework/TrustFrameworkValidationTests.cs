using System.Buffers.Text;
using System.Security.Cryptography;
using EligibilityGateway.TrustFramework;
using static EligibilityGateway.Tests.TrustFramework.TrustFrameworkFiles;

namespace EligibilityGateway.Tests.TrustFramework;

/// <summary>One test per rule the loader enforces: each breaks that rule alone in a valid file and expects one located error.</summary>
public sealed class TrustFrameworkValidationTests
{
    private readonly string valid = ValidProduction();

    [Fact]
    public void Load_WhenPermissionNamesUnknownScheme_ReportsFileLineAndField()
    {
        var yaml = valid.ReplaceOnce("scheme: council-tax-support\n", "scheme: school-dinners\n");

        AssertSingleError(yaml, "permissions[1].scheme", LineOf(yaml, "scheme: school-dinners"), "unknown scheme 'school-dinners'", column: 13);
    }

    [Fact]
    public void Load_WhenPermissionNamesUnknownCouncil_ReportsFileLineAndField()
    {
        var yaml = valid.ReplaceOnce("- council: camden", "- council: york");

        AssertSingleError(yaml, "permissions[1].council", LineOf(yaml, "council: york"), "unknown council 'york'", column: 14);
    }

    [Fact]
    public void Load_WhenSchemeQuestionNamesUnknownProvider_ReportsFileLineAndField()
    {
        var yaml = valid.ReplaceOnce("{ provider: hmrc,", "{ provider: dvla,");

        AssertSingleError(yaml, "schemes[0].questions[1].provider", LineOf(yaml, "provider: dvla"), "unknown provider 'dvla'");
    }

    [Fact]
    public void Load_WhenAuditorIsScopedToUnknownCouncil_ReportsFileLineAndField()
    {
        var yaml = valid.ReplaceOnce("scope: all", "scope: york");

        AssertSingleError(yaml, "auditors[0].scope", LineOf(yaml, "scope: york"), "unknown council 'york'");
    }

    [Fact]
    public void Load_WhenTwoCouncilsShareAnId_ReportsTheSecond()
    {
        var yaml = valid.ReplaceOnce("- id: camden", "- id: leeds").ReplaceOnce("- council: camden", "- council: leeds");

        AssertSingleError(yaml, "councils[1].id", LineOf(yaml, "- id: leeds", 2), "duplicate id 'leeds' (first defined at line " + LineOf(yaml, "- id: leeds"));
    }

    [Fact]
    public void Load_WhenTwoProvidersShareAnId_ReportsTheSecond()
    {
        var yaml = valid.ReplaceOnce("- id: hmrc", "- id: dwp").ReplaceOnce("{ provider: hmrc, question: free-school-meals-tax-credits }", "{ provider: dwp, question: free-school-meals-tax-credits }");

        AssertSingleError(yaml, "providers[1].id", LineOf(yaml, "- id: dwp", 2), "duplicate id 'dwp'");
    }

    [Fact]
    public void Load_WhenAuditorReusesACouncilClientId_ReportsDuplicateClientId()
    {
        var yaml = valid.ReplaceOnce("client_id: ico-client", "client_id: leeds-client");

        AssertSingleError(yaml, "auditors[0].client_id", LineOf(yaml, "client_id: leeds-client", 2), "duplicate client id 'leeds-client'");
    }

    [Fact]
    public void Load_WhenProductionFrameworkHasClientSecret_ReportsMethodAsSandboxOnly()
    {
        var hash = SecretHash.Create("secret", SecretHash.MinimumIterations).ToString();
        var yaml = ReplaceCamdenAuthentication(valid, $"      method: client_secret_basic\n      secret_hash: {hash}\n");

        AssertSingleError(yaml, "councils[1].client_authentication.method", LineOf(yaml, "method: client_secret_basic"), "only allowed when sandbox: true");
    }

    [Fact]
    public void Load_WhenSandboxFrameworkHasClientSecret_AcceptsIt()
    {
        var hash = SecretHash.Create("secret", SecretHash.MinimumIterations).ToString();
        var yaml = ReplaceCamdenAuthentication(valid, $"      method: client_secret_basic\n      secret_hash: {hash}\n").ReplaceOnce("sandbox: false", "sandbox: true");

        var result = Load(yaml);

        result.Errors.Should().BeEmpty();
        result.Definition!.Councils[1].Authentication.Should().BeOfType<ClientSecretBasicAuthentication>()
            .Which.SecretHash.Verify("secret").Should().BeTrue();
    }

    [Fact]
    public void Load_WhenSecretHashIsMalformed_ReportsFormatWithoutEchoingIt()
    {
        var yaml = ReplaceCamdenAuthentication(valid, "      method: client_secret_basic\n      secret_hash: sha1$abc\n").ReplaceOnce("sandbox: false", "sandbox: true");

        var error = AssertSingleError(yaml, "councils[1].client_authentication.secret_hash", LineOf(yaml, "secret_hash:"), "pbkdf2-sha256$<iterations>");
        error.Message.Should().NotContain("sha1$abc");
    }

    [Fact]
    public void Load_WhenProductionFrameworkHasASandboxCitizen_ReportsSandboxUsers()
    {
        var yaml = valid + "sandbox_users:\n" + Citizen("national_insurance_number: AB123456C");

        AssertSingleError(yaml, "sandbox_users", LineOf(yaml, "sandbox_users:"), "only allowed when sandbox: true", column: 1);
    }

    [Fact]
    public void Load_WhenSandboxCitizenIsValid_BindsTheNormalisedIdentity()
    {
        var result = Load(Sandbox("national_insurance_number: ab 12 34 56 c"));

        result.Errors.Should().BeEmpty();
        var identity = result.Definition!.SandboxUsers.Single().Identity!;
        identity.Identifier.Should().Be("AB123456C");
        identity.LastName.Should().Be("Smith");
    }

    [Fact]
    public void Load_WhenSandboxCitizenHasNoIdentity_ReportsIdentity()
    {
        var yaml = Sandbox("national_insurance_number: AB123456C").ReplaceOnce("    identity:\n      last_name: Smith\n      national_insurance_number: AB123456C\n      date_of_birth: 1990-01-01\n", "");

        AssertSingleError(yaml, "sandbox_users[0].identity", LineOf(yaml, "- username: smith"), "required");
    }

    [Fact]
    public void Load_WhenSandboxCitizenHasAScope_ReportsScope()
    {
        var yaml = Sandbox("national_insurance_number: AB123456C").ReplaceOnce("    role: citizen\n", "    role: citizen\n    scope: all\n");

        AssertSingleError(yaml, "sandbox_users[0].scope", LineOf(yaml, "scope: all", 2), "only allowed for role 'auditor'");
    }

    [Fact]
    public void Load_WhenSandboxAuditorHasAnIdentity_ReportsIdentity()
    {
        var yaml = Sandbox("national_insurance_number: AB123456C").ReplaceOnce("    role: citizen\n", "    role: auditor\n    scope: all\n");

        AssertSingleError(yaml, "sandbox_users[0].identity", LineOf(yaml, "identity:"), "only allowed for role 'citizen'");
    }

    [Fact]
    public void Load_WhenSandboxUserHasAnUnknownRole_ReportsRole()
    {
        var yaml = Sandbox("national_insurance_number: AB123456C").ReplaceOnce("role: citizen", "role: caseworker");

        AssertSingleError(yaml, "sandbox_users[0].role", LineOf(yaml, "role: caseworker"), "must be 'auditor' or 'citizen'");
    }

    [Fact]
    public void Load_WhenSandboxCitizenHasBothIdentifiers_ReportsIdentity()
    {
        var yaml = Sandbox("national_insurance_number: AB123456C\n      national_asylum_seeker_service_number: \"240712349\"");

        AssertSingleError(yaml, "sandbox_users[0].identity", LineOf(yaml, "last_name: Smith"), "exactly one of national_insurance_number and national_asylum_seeker_service_number");
    }

    [Theory]
    [InlineData("national_insurance_number: AB12345", "national_insurance_number", "must be a National Insurance number")]
    [InlineData("national_asylum_seeker_service_number: \"241312349\"", "national_asylum_seeker_service_number", "must be a NASS number")]
    public void Load_WhenSandboxCitizenIdentifierIsMalformed_ReportsItWithoutRepeatingIt(string identifierLine, string field, string message)
    {
        var yaml = Sandbox(identifierLine);

        var error = AssertSingleError(yaml, "sandbox_users[0].identity." + field, LineOf(yaml, field + ":"), message);
        error.ToString().Should().NotContain("AB12345").And.NotContain("241312349");
    }

    [Fact]
    public void Load_WhenSandboxCitizenDateOfBirthIsNotARealDate_ReportsIt()
    {
        var yaml = Sandbox("national_insurance_number: AB123456C").ReplaceOnce("date_of_birth: 1990-01-01", "date_of_birth: 1990-02-30");

        AssertSingleError(yaml, "sandbox_users[0].identity.date_of_birth", LineOf(yaml, "date_of_birth:"), "must be a real date");
    }

    private static string Citizen(string identifierLine) =>
        "  - username: smith\n" +
        $"    password_hash: {SecretHash.Create("sandbox", SecretHash.MinimumIterations)}\n" +
        "    role: citizen\n" +
        "    identity:\n" +
        "      last_name: Smith\n" +
        $"      {identifierLine}\n" +
        "      date_of_birth: 1990-01-01\n";

    /// <summary>The valid production file turned into a sandbox with one citizen.</summary>
    private string Sandbox(string identifierLine) =>
        valid.ReplaceOnce("sandbox: false", "sandbox: true") + "sandbox_users:\n" + Citizen(identifierLine);

    [Fact]
    public void Load_WhenProductionFrameworkHasSandboxUsers_ReportsSandboxUsers()
    {
        var hash = SecretHash.Create("sandbox", SecretHash.MinimumIterations).ToString();
        var yaml = valid + $"sandbox_users:\n  - username: auditor\n    password_hash: {hash}\n    role: auditor\n    scope: all\n";

        AssertSingleError(yaml, "sandbox_users", LineOf(yaml, "sandbox_users:"), "only allowed when sandbox: true", column: 1);
    }

    [Fact]
    public void Load_WhenPermissionHasNoLawfulBasis_ReportsLawfulBasesRequired()
    {
        var yaml = valid.ReplaceOnce("    lawful_bases:\n      - basis: consent\n    purpose: dpv:ServiceProvision\n", "    purpose: dpv:ServiceProvision\n");

        AssertSingleError(yaml, "permissions[1].lawful_bases", LineOf(yaml, "- council: camden"), "required");
    }

    [Fact]
    public void Load_WhenPermissionHasEmptyLawfulBases_ReportsAtLeastOne()
    {
        var yaml = valid.ReplaceOnce("    lawful_bases:\n      - basis: consent\n    purpose: dpv:ServiceProvision\n", "    lawful_bases: []\n    purpose: dpv:ServiceProvision\n");

        AssertSingleError(yaml, "permissions[1].lawful_bases", LineOf(yaml, "lawful_bases: []"), "at least one lawful basis");
    }

    [Fact]
    public void Load_WhenPublicTaskLacksLegalReference_ReportsItRequiredForPublicTask()
    {
        var yaml = valid.ReplaceOnce("        legal_reference: Digital Economy Act 2017 s.35, multiple disadvantages objective\n", "");

        AssertSingleError(yaml, "permissions[0].lawful_bases[1].legal_reference", LineOf(yaml, "- basis: public-task"), "required for public-task");
    }

    [Fact]
    public void Load_WhenPublicTaskLacksIsaReference_ReportsItRequiredForPublicTask()
    {
        var yaml = valid.ReplaceOnce("        isa_reference: ISA-LEEDS-001\n", "");

        AssertSingleError(yaml, "permissions[0].lawful_bases[1].isa_reference", LineOf(yaml, "- basis: public-task"), "required for public-task");
    }

    [Fact]
    public void Load_WhenConsentCarriesAnIsaReference_ReportsItOnlyForPublicTask()
    {
        var yaml = valid.ReplaceOnce("      - basis: consent\n    purpose: dpv:ServiceProvision\n", "      - basis: consent\n        isa_reference: ISA-9\n    purpose: dpv:ServiceProvision\n");

        AssertSingleError(yaml, "permissions[1].lawful_bases[0].isa_reference", LineOf(yaml, "isa_reference: ISA-9"), "only allowed for public-task");
    }

    [Fact]
    public void Load_WhenLawfulBasisIsUnknown_ReportsAllowedValues()
    {
        var yaml = valid.ReplaceOnce("      - basis: consent\n    purpose: dpv:ServiceProvision\n", "      - basis: legitimate-interests\n    purpose: dpv:ServiceProvision\n");

        AssertSingleError(yaml, "permissions[1].lawful_bases[0].basis", LineOf(yaml, "basis: legitimate-interests"), "must be 'consent' or 'public-task'");
    }

    [Fact]
    public void Load_WhenLawfulBasisIsListedTwice_ReportsTheSecond()
    {
        var yaml = valid.ReplaceOnce("      - basis: consent\n    purpose: dpv:ServiceProvision\n", "      - basis: consent\n      - basis: consent\n    purpose: dpv:ServiceProvision\n");

        AssertSingleError(yaml, "permissions[1].lawful_bases[1]", LineOf(yaml, "- basis: consent", 3), "listed twice");
    }

    [Fact]
    public void Load_WhenCouncilAndSchemeHaveTwoPermissions_ReportsTheDuplicate()
    {
        var yaml = valid + "  - council: camden\n    scheme: council-tax-support\n    lawful_bases: [{ basis: consent }]\n    purpose: dpv:ServiceProvision\n";

        AssertSingleError(yaml, "permissions[2]", LineOf(yaml, "- council: camden", 2), "duplicate permission for council 'camden' and scheme 'council-tax-support'");
    }

    [Fact]
    public void Load_WhenPurposeIsNotADpvTerm_ReportsPurpose()
    {
        var yaml = valid.ReplaceOnce("      - basis: consent\n    purpose: dpv:ServiceProvision\n", "      - basis: consent\n    purpose: checking things\n");

        AssertSingleError(yaml, "permissions[1].purpose", LineOf(yaml, "purpose: checking things"), "Data Privacy Vocabulary");
    }

    [Theory]
    [InlineData("P1Y")]
    [InlineData("P1M")]
    [InlineData("24h")]
    [InlineData("PT")]
    [InlineData("P")]
    [InlineData("PT1.5H")]
    public void Load_WhenDurationIsMalformed_ReportsFileLineAndField(string duration)
    {
        var yaml = valid.ReplaceOnce("max_consent_duration: P90D", "max_consent_duration: " + duration);

        AssertSingleError(yaml, "schemes[0].max_consent_duration", LineOf(yaml, "max_consent_duration: " + duration), "is not an ISO 8601 duration");
    }

    [Fact]
    public void Load_WhenCacheTtlExceedsTwentyFourHours_ReportsFrameworkMaximum()
    {
        var yaml = valid.ReplaceOnce("cache_ttl: PT24H", "cache_ttl: P2D");

        AssertSingleError(yaml, "schemes[0].cache_ttl", LineOf(yaml, "cache_ttl: P2D"), "PT24H, the framework-wide maximum");
    }

    [Fact]
    public void Load_WhenCacheTtlExceedsMaximumConsentDuration_ReportsConsentLimit()
    {
        var yaml = valid.ReplaceOnce("max_consent_duration: P30D", "max_consent_duration: PT6H");

        AssertSingleError(yaml, "schemes[1].cache_ttl", LineOf(yaml, "cache_ttl: PT12H"), "must not be longer than max_consent_duration");
    }

    [Fact]
    public void Load_WhenAttemptTimeoutExceedsTotalTimeout_ReportsAttemptTimeout()
    {
        var yaml = valid.ReplaceOnce("attempt_timeout: PT2S\n    total_timeout: PT5S\n    max_concurrency: 8\n    rate_limit: { limit: 100, window: PT1S }\n  - id: hmrc", "attempt_timeout: PT9S\n    total_timeout: PT5S\n    max_concurrency: 8\n    rate_limit: { limit: 100, window: PT1S }\n  - id: hmrc");

        AssertSingleError(yaml, "providers[0].attempt_timeout", LineOf(yaml, "attempt_timeout: PT9S"), "must not be longer than total_timeout");
    }

    [Fact]
    public void Load_WhenTopLevelKeyIsUnknown_ReportsUnknownKey()
    {
        var yaml = valid.ReplaceOnce("sandbox: false\n", "sandbox: false\nowner: someone\n");

        AssertSingleError(yaml, "owner", LineOf(yaml, "owner: someone"), "unknown key", column: 1);
    }

    [Fact]
    public void Load_WhenNestedKeyIsMisspelt_ReportsUnknownKeyWithItsPath()
    {
        var yaml = valid.ReplaceOnce("        isa_reference: ISA-LEEDS-001\n", "        isa_reference: ISA-LEEDS-001\n        isa_refernce: ISA-LEEDS-002\n");

        AssertSingleError(yaml, "permissions[0].lawful_bases[1].isa_refernce", LineOf(yaml, "isa_refernce"), "unknown key", column: 9);
    }

    [Fact]
    public void Load_WhenSandboxFlagIsAQuotedString_ReportsWrongType()
    {
        var yaml = valid.ReplaceOnce("sandbox: false", "sandbox: \"false\"");

        AssertSingleError(yaml, "sandbox", LineOf(yaml, "sandbox:"), "expected a boolean, got a string", column: 10);
    }

    [Fact]
    public void Load_WhenVersionIsANumber_ReportsWrongType()
    {
        var yaml = valid.ReplaceOnce("version: 1.0.0", "version: 1.0");

        AssertSingleError(yaml, "version", LineOf(yaml, "version: 1.0"), "expected a string, got a number");
    }

    [Fact]
    public void Load_WhenMaxConcurrencyIsText_ReportsWrongType()
    {
        var yaml = valid.ReplaceOnce("max_concurrency: 8\n    rate_limit: { limit: 100, window: PT1S }\n  - id: hmrc", "max_concurrency: eight\n    rate_limit: { limit: 100, window: PT1S }\n  - id: hmrc");

        AssertSingleError(yaml, "providers[0].max_concurrency", LineOf(yaml, "max_concurrency: eight"), "expected a decimal integer, got a string");
    }

    [Fact]
    public void Load_WhenCouncilsIsAMapping_ReportsExpectedSequence()
    {
        var start = valid.IndexOf("councils:\n", StringComparison.Ordinal);
        var end = valid.IndexOf("auditors:\n", StringComparison.Ordinal);
        var yaml = valid[..start] + "councils:\n  leeds: Leeds City Council\n" + valid[end..];

        var result = Load(yaml);

        result.Errors.Should().Contain(e => e.FieldPath == "councils" && e.Line == LineOf(yaml, "leeds: Leeds") && e.Message == "expected a sequence, got a mapping");
    }

    [Fact]
    public void Load_WhenRequiredFieldIsMissing_ReportsItAtItsParent()
    {
        var yaml = valid.ReplaceOnce("    name: Leeds City Council\n", "");

        AssertSingleError(yaml, "councils[0].name", LineOf(yaml, "- id: leeds"), "required", column: 5);
    }

    [Fact]
    public void Load_WhenBaseUrlIsNotAUrl_ReportsBaseUrl()
    {
        var yaml = valid.ReplaceOnce("base_url: https://hmrc.example.gov.uk", "base_url: hmrc.example.gov.uk");

        AssertSingleError(yaml, "providers[1].base_url", LineOf(yaml, "base_url: hmrc.example"), "absolute http or https URL");
    }

    [Fact]
    public void Load_WhenProductionProviderUsesPlainHttp_ReportsHttpsRequired()
    {
        var yaml = valid.ReplaceOnce("base_url: https://hmrc.example.gov.uk", "base_url: http://hmrc.example.gov.uk");

        AssertSingleError(yaml, "providers[1].base_url", LineOf(yaml, "base_url: http://hmrc"), "must use https");
    }

    [Fact]
    public void Load_WhenRedirectUriHasFragment_ReportsRedirectUri()
    {
        var yaml = valid.ReplaceOnce("    rate_limit: { limit: 600, window: PT1M }\n  - id: camden", "    rate_limit: { limit: 600, window: PT1M }\n    redirect_uris: [\"https://leeds.example/cb#x\"]\n  - id: camden");

        AssertSingleError(yaml, "councils[0].redirect_uris[0]", LineOf(yaml, "redirect_uris:"), "fragment");
    }

    [Fact]
    public void Load_WhenJwkContainsPrivateKey_ReportsThePrivateMember()
    {
        var yaml = valid.ReplaceOnce("kid: leeds-1\n", "kid: leeds-1\n            d: c2VjcmV0\n");

        AssertSingleError(yaml, "councils[0].client_authentication.jwks.keys[0].d", LineOf(yaml, "d: c2VjcmV0"), "private key member 'd'", column: 13);
    }

    [Fact]
    public void Load_WhenJwksRepeatsAKid_ReportsDuplicateKid()
    {
        var (x, y) = NewEcPublicKey();

        // A second key, with the first key's kid, ahead of the original key's x and y.
        var yaml = valid.ReplaceOnce("            kid: leeds-1\n", $"            kid: leeds-1\n            x: {x}\n            y: {y}\n          - kty: EC\n            crv: P-256\n            kid: leeds-1\n");

        AssertSingleError(yaml, "councils[0].client_authentication.jwks.keys[1].kid", LineOf(yaml, "kid: leeds-1", 2), "duplicate kid 'leeds-1'");
    }

    [Fact]
    public void Load_WhenEcKeyIsNotOnTheCurve_ReportsTheKey()
    {
        var bogus = Base64Url.EncodeToString(new byte[32]);
        var start = valid.IndexOf("kid: leeds-1\n", StringComparison.Ordinal);
        var xLine = valid.IndexOf("x: ", start, StringComparison.Ordinal);
        var xEnd = valid.IndexOf('\n', xLine);
        var yaml = valid[..xLine] + "x: " + bogus + valid[xEnd..];

        AssertSingleError(yaml, "councils[0].client_authentication.jwks.keys[0]", LineOf(yaml, "- kty: EC"), "not a point on the P-256 curve");
    }

    [Fact]
    public void Load_WhenRsaKeyIsShorterThan2048Bits_ReportsModulus()
    {
        using var rsa = RSA.Create(1024);
        var parameters = rsa.ExportParameters(false);
        var yaml = valid.ReplaceOnce(
            "          - kty: EC\n            crv: P-256\n            kid: camden-1\n",
            $"          - kty: RSA\n            kid: camden-1\n            n: {Base64Url.EncodeToString(parameters.Modulus)}\n            e: {Base64Url.EncodeToString(parameters.Exponent)}\n          - kty: EC\n            crv: P-256\n            kid: camden-2\n");

        AssertSingleError(yaml, "councils[1].client_authentication.jwks.keys[0].n", LineOf(yaml, "kty: RSA") + 2, "RSA modulus is 1024 bits; at least 2048 are required");
    }

    [Fact]
    public void Load_WhenRsaKeyHas2048Bits_AcceptsIt()
    {
        using var rsa = RSA.Create(2048);
        var parameters = rsa.ExportParameters(false);
        var yaml = valid.ReplaceOnce(
            "          - kty: EC\n            crv: P-256\n            kid: camden-1\n",
            $"          - kty: RSA\n            kid: camden-rsa\n            alg: PS256\n            n: {Base64Url.EncodeToString(parameters.Modulus)}\n            e: {Base64Url.EncodeToString(parameters.Exponent)}\n          - kty: EC\n            crv: P-256\n            kid: camden-1\n");

        var result = Load(yaml);

        result.Errors.Should().BeEmpty();
        result.Definition!.Councils[1].Authentication.Should().BeOfType<PrivateKeyJwtAuthentication>().Which.Keys.Select(k => k.Kty).Should().Equal("RSA", "EC");
    }

    [Fact]
    public void Load_WhenJwkIsASymmetricKey_ReportsKtyAndSecret()
    {
        var yaml = valid.ReplaceOnce(
            "          - kty: EC\n            crv: P-256\n            kid: camden-1\n",
            "          - kty: oct\n            kid: camden-hmac\n            k: c2VjcmV0\n          - kty: EC\n            crv: P-256\n            kid: camden-1\n");

        var result = Load(yaml);

        result.Errors.Should().HaveCount(2);
        result.Errors.Should().Contain(e => e.FieldPath == "councils[1].client_authentication.jwks.keys[0].kty" && e.Line == LineOf(yaml, "kty: oct"));
        result.Errors.Should().Contain(e => e.FieldPath == "councils[1].client_authentication.jwks.keys[0].k" && e.Message.Contains("private key member 'k'"));
    }

    [Fact]
    public void Load_WhenEffectiveUntilIsBeforeEffectiveFrom_ReportsEffectiveUntil()
    {
        var yaml = valid.ReplaceOnce("effective_from: 2026-01-01T00:00:00Z\n", "effective_from: 2026-01-01T00:00:00Z\neffective_until: 2025-12-31T00:00:00Z\n");

        AssertSingleError(yaml, "effective_until", LineOf(yaml, "effective_until:"), "later than effective_from");
    }

    [Fact]
    public void Load_WhenEffectiveFromHasNoOffset_ReportsFormat()
    {
        var yaml = valid.ReplaceOnce("effective_from: 2026-01-01T00:00:00Z", "effective_from: 2026-01-01");

        AssertSingleError(yaml, "effective_from", LineOf(yaml, "effective_from:"), "RFC 3339 date-time with an offset");
    }

    [Fact]
    public void Load_WhenYamlIsSyntacticallyBroken_ReportsTheLine()
    {
        var yaml = valid.ReplaceOnce("    name: Leeds City Council\n", "    name: [Leeds City Council\n");

        var result = Load(yaml);

        var error = result.Errors.Should().ContainSingle().Subject;
        error.Message.Should().StartWith("YAML syntax error: ");
        error.Line.Should().BeInRange(LineOf(yaml, "name: [Leeds"), LineOf(yaml, "name: [Leeds") + 2);
        error.ToString().Should().StartWith($"{FileName}:{error.Line}:{error.Column}: YAML syntax error");
    }

    [Fact]
    public void Load_WhenIndentationIsWrong_ReportsTheSyntaxErrorLine()
    {
        var yaml = valid.ReplaceOnce("version: 1.0.0\n", "version: 1.0.0\n  stray: indented\n");

        var result = Load(yaml);

        var error = result.Errors.Should().ContainSingle().Subject;
        error.Line.Should().Be(LineOf(yaml, "stray: indented"));
        error.Message.Should().StartWith("YAML syntax error: ").And.NotContain("(Line:");
    }

    [Fact]
    public void Load_WhenFileIsEmpty_ReportsEmptyFile()
    {
        var result = Load("");

        result.Errors.Should().ContainSingle().Which.ToString().Should().Be($"{FileName}:1:1: the file is empty");
    }

    [Fact]
    public void Load_WhenSeveralRulesAreBroken_ReportsEveryErrorInFileOrder()
    {
        var yaml = valid.ReplaceOnce("{ provider: hmrc,", "{ provider: dvla,")
            .ReplaceOnce("- council: camden", "- council: york")
            .ReplaceOnce("sandbox: false\n", "sandbox: false\nowner: someone\n");

        var result = Load(yaml);

        result.Succeeded.Should().BeFalse();
        result.Errors.Select(e => e.FieldPath).Should().Equal("owner", "schemes[0].questions[1].provider", "permissions[1].council");
    }

    [Fact]
    public void Load_WhenFileDoesNotExist_ReportsItCannotBeRead()
    {
        var result = TrustFrameworkLoader.LoadFile(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("n"), "missing.yaml"), "missing.yaml");

        result.Errors.Should().ContainSingle().Which.ToString().Should().StartWith("missing.yaml:1:1: cannot read the file");
    }

    private static TrustFrameworkError AssertSingleError(string yaml, string fieldPath, int line, string messageFragment, int? column = null)
    {
        var result = Load(yaml);

        result.Succeeded.Should().BeFalse();
        var error = result.Errors.Should().ContainSingle().Subject;
        error.File.Should().Be(FileName);
        error.FieldPath.Should().Be(fieldPath);
        error.Line.Should().Be(line);
        if (column is not null)
        {
            error.Column.Should().Be(column.Value);
        }

        error.Message.Should().Contain(messageFragment);
        error.ToString().Should().StartWith($"{FileName}:{line}:{error.Column}: {fieldPath}: ");
        return error;
    }

    private static string ReplaceCamdenAuthentication(string yaml, string replacement)
    {
        var start = yaml.IndexOf("      method: private_key_jwt\n", yaml.IndexOf("- id: camden", StringComparison.Ordinal), StringComparison.Ordinal);
        var end = yaml.IndexOf("    rate_limit:", start, StringComparison.Ordinal);
        return yaml[..start] + replacement + yaml[end..];
    }
}
