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
        definition.SandboxUsers.Select(u => (u.Username, u.Role, u.Scope.CouncilId)).Should().BeEquivalentTo(new[]
        {
            ("auditor", "auditor", (string?)null),
            ("leeds-auditor", "auditor", "leeds"),
        });
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
    public void SandboxUserPassword_IsSandbox(string username)
    {
        var snapshot = TrustFrameworkFiles.LoadSnapshot(TrustFrameworkFiles.SandboxPath);

        snapshot.TryGetSandboxUser(username, out var user).Should().BeTrue();
        user!.PasswordHash.Verify("sandbox").Should().BeTrue();
        user.PasswordHash.Verify("Sandbox").Should().BeFalse();
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
