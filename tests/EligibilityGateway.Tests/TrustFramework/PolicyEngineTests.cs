using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace EligibilityGateway.Tests.TrustFramework;

public sealed class PolicyEngineTests
{
    private static readonly DateTimeOffset InForce = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    /// <summary>Every branch of the decision against the sandbox framework's permissions, with the rule that must decide it.</summary>
    public static TheoryData<string, string, string, string> SandboxDecisions => new()
    {
        { "leeds", "free-school-meals", "consent", "permission:leeds/free-school-meals/consent" },
        { "leeds", "free-school-meals", "public-task", "permission:leeds/free-school-meals/public-task" },
        { "leeds", "council-tax-support", "consent", "permission:leeds/council-tax-support/consent" },
        { "leeds", "council-tax-support", "public-task", PolicyRules.LawfulBasisNotPermitted },
        { "camden", "free-school-meals", "consent", "permission:camden/free-school-meals/consent" },
        { "camden", "free-school-meals", "public-task", PolicyRules.LawfulBasisNotPermitted },
        { "camden", "council-tax-support", "consent", PolicyRules.NoPermission },
        { "york", "free-school-meals", "consent", PolicyRules.UnknownCouncil },
        { "", "free-school-meals", "consent", PolicyRules.UnknownCouncil },
        { "Leeds", "free-school-meals", "consent", PolicyRules.UnknownCouncil },
        { "leeds", "housing-benefit", "consent", PolicyRules.UnknownScheme },
        { "leeds", "free-school-meals", "legitimate-interests", PolicyRules.UnknownLawfulBasis },
        { "leeds", "free-school-meals", "Consent", PolicyRules.UnknownLawfulBasis },
        { "auditor", "free-school-meals", "consent", PolicyRules.UnknownCouncil },
    };

    [Theory]
    [MemberData(nameof(SandboxDecisions))]
    public void Decide_OnSandboxFramework_NamesTheRuleThatDecided(string councilId, string schemeId, string lawfulBasis, string expectedRule)
    {
        var snapshot = TrustFrameworkFiles.LoadSnapshot(TrustFrameworkFiles.SandboxPath);

        var decision = PolicyEngine.Decide(snapshot, InForce, councilId, schemeId, lawfulBasis);

        decision.Rule.Should().Be(expectedRule);
        decision.IsAllowed.Should().Be(expectedRule.StartsWith("permission:", StringComparison.Ordinal));
        (decision.Grant is null).Should().Be(!decision.IsAllowed);
    }

    /// <summary>Instants around the example framework's effective period [2027-04-01T00:00+01:00, 2028-04-01T00:00+01:00).</summary>
    public static TheoryData<DateTimeOffset, string> EffectivePeriod => new()
    {
        { new DateTimeOffset(2027, 3, 31, 22, 59, 59, TimeSpan.Zero), PolicyRules.FrameworkNotEffective },
        { new DateTimeOffset(2027, 3, 31, 23, 0, 0, TimeSpan.Zero), "permission:camden/free-school-meals/consent" },
        { new DateTimeOffset(2028, 3, 31, 22, 59, 59, TimeSpan.Zero), "permission:camden/free-school-meals/consent" },
        { new DateTimeOffset(2028, 3, 31, 23, 0, 0, TimeSpan.Zero), PolicyRules.FrameworkNotEffective },
    };

    [Theory]
    [MemberData(nameof(EffectivePeriod))]
    public void Decide_OutsideEffectiveDates_DeniesAsNotEffective(DateTimeOffset now, string expectedRule)
    {
        var snapshot = TrustFrameworkFiles.LoadSnapshot(TrustFrameworkFiles.ExampleEnglandPath);

        PolicyEngine.Decide(snapshot, now, "camden", "free-school-meals", "consent").Rule.Should().Be(expectedRule);
    }

    [Fact]
    public void Decide_WhenPublicTaskIsAllowed_GrantCarriesPurposeProvidersReleaseAndLegalReference()
    {
        var snapshot = TrustFrameworkFiles.LoadSnapshot(TrustFrameworkFiles.SandboxPath);

        var decision = PolicyEngine.Decide(snapshot, InForce, "leeds", "free-school-meals", "public-task");

        decision.IsAllowed.Should().BeTrue();
        var grant = decision.Grant!;
        grant.FrameworkId.Should().Be("eligibility-gateway-sandbox");
        grant.Purpose.Should().Be("dpv:ServiceProvision");
        grant.LawfulBasis.Basis.Should().Be(LawfulBasis.PublicTask);
        grant.LegalReference.Should().StartWith("Digital Economy Act 2017 s.35");
        grant.LawfulBasis.IsaReference.Should().Be("ISA-SANDBOX-LEEDS-FSM-001");
        grant.Providers.Select(p => p.Id).Should().Equal("dwp", "hmrc", "home-office");
        grant.Questions.Should().HaveCount(3);
        grant.Release.Should().Equal(ReleasedField.Outcome);
        grant.Scheme.CacheTtl.Should().Be(TimeSpan.FromHours(24));
        grant.RateLimit.Should().Be(grant.Council.RateLimit);
    }

    [Fact]
    public void Decide_WhenConsentIsAllowed_GrantHasNoLegalReference()
    {
        var snapshot = TrustFrameworkFiles.LoadSnapshot(TrustFrameworkFiles.SandboxPath);

        var grant = PolicyEngine.Decide(snapshot, InForce, "leeds", "council-tax-support", "consent").Grant!;

        grant.LegalReference.Should().BeNull();
        grant.Providers.Select(p => p.Id).Should().Equal("dwp", "hmrc");
    }

    [Fact]
    public void Decide_WhenPermissionSetsItsOwnRateLimit_GrantUsesIt()
    {
        var snapshot = TrustFrameworkFiles.LoadSnapshot(TrustFrameworkFiles.ExampleEnglandPath);

        var grant = PolicyEngine.Decide(snapshot, new DateTimeOffset(2027, 6, 1, 0, 0, 0, TimeSpan.Zero), "manchester", "free-school-meals", "public-task").Grant!;

        grant.RateLimit.Should().Be(new RateLimit(300, TimeSpan.FromMinutes(1)));
        grant.Purpose.Should().Be("dpv:ImprovePublicServices");
    }

    [Fact]
    public void Decide_BeforeTheFrameworkIsLoaded_DeniesWithNoFramework()
    {
        using var provider = NewServices(TrustFrameworkFiles.SandboxPath);

        var decision = provider.GetRequiredService<PolicyEngine>().Decide("leeds", "free-school-meals", "consent");

        decision.IsAllowed.Should().BeFalse();
        decision.Rule.Should().Be(PolicyRules.NoFramework);
    }

    [Fact]
    public void Decide_ThroughTheEngine_UsesTheFrameworkInForceAndTheInjectedClock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2027, 6, 1, 0, 0, 0, TimeSpan.Zero));
        using var provider = NewServices(TrustFrameworkFiles.ExampleEnglandPath, clock);
        provider.GetRequiredService<TrustFrameworkMonitor>().LoadInitial();
        var engine = provider.GetRequiredService<PolicyEngine>();

        engine.Decide("bristol", "free-school-meals", "consent").Rule.Should().Be("permission:bristol/free-school-meals/consent");
        clock.SetUtcNow(new DateTimeOffset(2029, 1, 1, 0, 0, 0, TimeSpan.Zero));
        engine.Decide("bristol", "free-school-meals", "consent").Rule.Should().Be(PolicyRules.FrameworkNotEffective);
    }

    [Theory]
    [InlineData("urn:gov.uk:council:leeds", "leeds")]
    [InlineData("urn:gov.uk:council:bristol", "bristol")]
    public void TryFindCouncilByClientId_WhenClientIsACouncil_FindsIt(string clientId, string councilId)
    {
        using var provider = NewServices(TrustFrameworkFiles.ExampleEnglandPath);
        provider.GetRequiredService<TrustFrameworkMonitor>().LoadInitial();

        provider.GetRequiredService<PolicyEngine>().TryFindCouncilByClientId(clientId, out var council).Should().BeTrue();
        council!.Id.Should().Be(councilId);
    }

    [Theory]
    [InlineData("urn:gov.uk:auditor:ico")]
    [InlineData("leeds")]
    [InlineData("")]
    public void TryFindCouncilByClientId_WhenClientIsNotACouncil_FindsNothing(string clientId)
    {
        using var provider = NewServices(TrustFrameworkFiles.ExampleEnglandPath);
        provider.GetRequiredService<TrustFrameworkMonitor>().LoadInitial();

        provider.GetRequiredService<PolicyEngine>().TryFindCouncilByClientId(clientId, out var council).Should().BeFalse();
        council.Should().BeNull();
    }

    internal static ServiceProvider NewServices(string path, TimeProvider? clock = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["TrustFramework:Path"] = path })
            .Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IHostEnvironment>(new TestHostEnvironment());
        if (clock is not null)
        {
            services.AddSingleton(clock);
        }

        services.AddTrustFramework(configuration);
        return services.BuildServiceProvider();
    }

    private sealed class TestHostEnvironment : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Test";

        public string ApplicationName { get; set; } = "EligibilityGateway.Tests";

        public string ContentRootPath { get; set; } = TrustFrameworkFiles.RepositoryRoot;

        public Microsoft.Extensions.FileProviders.IFileProvider ContentRootFileProvider { get; set; } = new Microsoft.Extensions.FileProviders.NullFileProvider();
    }
}
