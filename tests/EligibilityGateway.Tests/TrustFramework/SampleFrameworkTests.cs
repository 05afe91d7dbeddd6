using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Tests.TrustFramework;

public sealed class SampleFrameworkTests
{
    [Fact]
    public void Load_SandboxFile_ValidatesWithEverySandboxClientOfSpec10()
    {
        var result = TrustFrameworkLoader.LoadFile(TrustFrameworkFiles.SandboxPath, "trust-frameworks/sandbox.yaml");

        result.Errors.Should().BeEmpty();
        var definition = result.Definition!;
        definition.Sandbox.Should().BeTrue();
        definition.Councils.Select(c => (c.Id, c.ClientId, c.Authentication.Method)).Should().BeEquivalentTo(new[]
        {
            ("leeds", "leeds", "client_secret_basic"),
            ("camden", "camden", "client_secret_basic"),
        });
        definition.Auditors.Select(a => (a.ClientId, a.Scope.CouncilId)).Should().BeEquivalentTo(new[]
        {
            ("auditor", (string?)null),
            ("leeds-auditor", "leeds"),
        });
        definition.SandboxUsers.Where(u => u.Role == SandboxUser.AuditorRole).Select(u => (u.Username, u.Scope!.CouncilId)).Should().BeEquivalentTo(new[]
        {
            ("auditor", (string?)null),
            ("leeds-auditor", "leeds"),
        });
        definition.SandboxUsers.Where(u => u.Role == SandboxUser.CitizenRole).Select(u => u.Username).Should().Equal("smith", "jones", "taylor", "brown", "khan");
        definition.Providers.Select(p => (p.Id, p.BaseUrl.ToString())).Should().BeEquivalentTo(new[]
        {
            ("dwp", "http://127.0.0.1:8081/dwp"),
            ("hmrc", "http://127.0.0.1:8081/hmrc"),
            ("home-office", "http://127.0.0.1:8081/home-office"),
        });
        definition.Schemes.Single(s => s.Id == "free-school-meals").Questions.Select(q => q.ProviderId).Should().Equal("dwp", "hmrc", "home-office");
        definition.Schemes.Single(s => s.Id == "council-tax-support").Questions.Select(q => q.ProviderId).Should().Equal("dwp", "hmrc");
        definition.Permissions.Select(p => (p.CouncilId, p.SchemeId, string.Join(",", p.LawfulBases.Select(b => b.Basis.ToName())))).Should().BeEquivalentTo(new[]
        {
            ("leeds", "free-school-meals", "consent,public-task"),
            ("leeds", "council-tax-support", "consent"),
            ("camden", "free-school-meals", "consent"),
        });
    }

    [Theory]
    [InlineData("leeds", "leeds-sandbox-secret")]
    [InlineData("camden", "camden-sandbox-secret")]
    [InlineData("auditor", "auditor-sandbox-secret")]
    [InlineData("leeds-auditor", "leeds-auditor-sandbox-secret")]
    public void SandboxClientSecret_VerifiesAgainstItsHashAndNoOtherSecretDoes(string clientId, string secret)
    {
        var snapshot = TrustFrameworkFiles.LoadSnapshot(TrustFrameworkFiles.SandboxPath);
        var authentication = snapshot.TryGetCouncilByClientId(clientId, out var council)
            ? council.Authentication
            : snapshot.TryGetAuditorByClientId(clientId, out var auditor) ? auditor.Authentication : null;

        var hash = authentication.Should().BeOfType<ClientSecretBasicAuthentication>().Subject.SecretHash;
        hash.Verify(secret).Should().BeTrue();
        hash.Verify(secret + "x").Should().BeFalse();
        hash.Verify("leeds-sandbox-secret" == secret ? "camden-sandbox-secret" : "leeds-sandbox-secret").Should().BeFalse();
    }

    [Theory]
    [InlineData("auditor")]
    [InlineData("leeds-auditor")]
    [InlineData("smith")]
    [InlineData("khan")]
    public void SandboxUserPassword_IsSandbox(string username)
    {
        var snapshot = TrustFrameworkFiles.LoadSnapshot(TrustFrameworkFiles.SandboxPath);

        snapshot.TryGetSandboxUser(username, out var user).Should().BeTrue();
        user!.PasswordHash.Verify("sandbox").Should().BeTrue();
        user.PasswordHash.Verify("Sandbox").Should().BeFalse();
    }

    [Theory]
    [InlineData("smith", "NationalInsuranceNumber", "AB123456C", "Smith", "1990-01-01")]
    [InlineData("jones", "NationalInsuranceNumber", "CE234567A", "Jones", "1985-05-15")]
    [InlineData("taylor", "NationalInsuranceNumber", "EH345678B", "Taylor", "1978-11-30")]
    [InlineData("brown", "NationalInsuranceNumber", "JK456789C", "Brown", "1992-02-29")]
    [InlineData("khan", "NationalAsylumSeekerServiceNumber", "240712349", "Khan", "1990-01-01")]
    public void SandboxCitizen_CarriesTheIdentityOfTheMockFixture(string username, string kind, string identifier, string lastName, string dateOfBirth)
    {
        var snapshot = TrustFrameworkFiles.LoadSnapshot(TrustFrameworkFiles.SandboxPath);

        snapshot.TryGetSandboxUser(username, out var user).Should().BeTrue();
        user!.Role.Should().Be(SandboxUser.CitizenRole);
        user.Scope.Should().BeNull();
        var identity = user.Identity!;
        identity.IdentifierKind.ToString().Should().Be(kind);
        identity.Identifier.Should().Be(identifier);
        identity.LastName.Should().Be(lastName);
        identity.DateOfBirth.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture).Should().Be(dateOfBirth);
        user.ToString().Should().NotContain(identifier).And.NotContain(lastName);
    }

    [Fact]
    public void Load_ExampleEnglandFile_ValidatesAsAProductionFramework()
    {
        var result = TrustFrameworkLoader.LoadFile(TrustFrameworkFiles.ExampleEnglandPath, "trust-frameworks/example-england.yaml");

        result.Errors.Should().BeEmpty();
        var definition = result.Definition!;
        definition.Sandbox.Should().BeFalse();
        definition.Councils.Select(c => c.Id).Should().Equal("leeds", "camden", "manchester", "bristol");
        definition.Councils.Concat<object>(definition.Auditors).Should().HaveCount(6);
        definition.Councils.Select(c => c.Authentication).Concat(definition.Auditors.Select(a => a.Authentication))
            .Should().AllBeOfType<PrivateKeyJwtAuthentication>();
        definition.Auditors.Should().HaveCount(2);
        definition.SandboxUsers.Should().BeEmpty();
        definition.Permissions.SelectMany(p => p.LawfulBases).Where(b => b.Basis == LawfulBasis.PublicTask)
            .Should().OnlyContain(b => b.LegalReference!.Contains("Digital Economy Act 2017 s.35") && b.IsaReference!.StartsWith("ISA-", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_TestTemplate_IsValid()
    {
        var result = TrustFrameworkFiles.Load(TrustFrameworkFiles.ValidProduction());

        result.Errors.Should().BeEmpty();
        result.Succeeded.Should().BeTrue();
    }
}
