using System.Diagnostics;
using EligibilityGateway.Checks;
using EligibilityGateway.Providers;
using Polly.CircuitBreaker;

namespace EligibilityGateway.Tests.Providers;

/// <summary>One mock and one gateway for the whole class; nothing here changes fault settings.</summary>
public sealed class ProviderFixtureEnvironment : IAsyncLifetime
{
    internal ProviderTestEnvironment Environment { get; private set; } = null!;

    public async Task InitializeAsync() => Environment = await ProviderTestEnvironment.StartAsync();

    public async Task DisposeAsync() => await Environment.DisposeAsync();
}

/// <summary>The sandbox fixtures through real HTTP to the real mock, for both sandbox schemes.</summary>
public sealed class ProviderFixtureTests(ProviderFixtureEnvironment fixture) : IClassFixture<ProviderFixtureEnvironment>
{
    private ProviderTestEnvironment Env => fixture.Environment;

    [Theory]
    [InlineData("Smith", nameof(Outcome.Eligible))]
    [InlineData("Jones", nameof(Outcome.NotEligible))]
    [InlineData("Taylor", nameof(Outcome.Eligible))]
    [InlineData("Brown", nameof(Outcome.NotFound))]
    [InlineData("Khan", nameof(Outcome.Eligible))]
    public async Task FreeSchoolMeals_ForEachFixture_GivesTheSpecOutcome(string surname, string expectedName)
    {
        var expected = Enum.Parse<Outcome>(expectedName);

        var answer = await Env.EvaluateAsync("free-school-meals", Fixtures.ByName[surname]);

        answer.Outcome.Should().Be(expected);
        answer.Calls.Select(c => c.ProviderId).Should().Equal("dwp", "hmrc", "home-office");
        answer.Calls.Should().NotContain(c => c.Status == ProviderCallStatus.Failed);
    }

    [Theory]
    [InlineData("Smith", nameof(ProviderCallStatus.Eligible), nameof(ProviderCallStatus.NotFound), nameof(ProviderCallStatus.NotFound))]
    [InlineData("Jones", nameof(ProviderCallStatus.NotEligible), nameof(ProviderCallStatus.NotEligible), nameof(ProviderCallStatus.NotFound))]
    [InlineData("Taylor", nameof(ProviderCallStatus.NotFound), nameof(ProviderCallStatus.Eligible), nameof(ProviderCallStatus.NotFound))]
    [InlineData("Brown", nameof(ProviderCallStatus.NotFound), nameof(ProviderCallStatus.NotFound), nameof(ProviderCallStatus.NotFound))]
    [InlineData("Khan", nameof(ProviderCallStatus.NotFound), nameof(ProviderCallStatus.NotFound), nameof(ProviderCallStatus.Eligible))]
    public async Task FreeSchoolMeals_ForEachFixture_EachProviderAnswersFromItsOwnRecords(string surname, string dwpName, string hmrcName, string homeOfficeName)
    {
        var dwp = Enum.Parse<ProviderCallStatus>(dwpName);
        var hmrc = Enum.Parse<ProviderCallStatus>(hmrcName);
        var homeOffice = Enum.Parse<ProviderCallStatus>(homeOfficeName);

        var answer = await Env.EvaluateAsync("free-school-meals", Fixtures.ByName[surname]);

        answer.Calls.Select(c => c.Status).Should().Equal(dwp, hmrc, homeOffice);
    }

    [Theory]
    [InlineData("Smith", nameof(Outcome.Eligible))]
    [InlineData("Jones", nameof(Outcome.NotEligible))]
    [InlineData("Taylor", nameof(Outcome.Eligible))]
    [InlineData("Brown", nameof(Outcome.NotFound))]
    [InlineData("Khan", nameof(Outcome.NotFound))]
    public async Task CouncilTaxSupport_ForEachFixture_GivesTheExpectedOutcome(string surname, string expectedName)
    {
        var expected = Enum.Parse<Outcome>(expectedName);

        // Smith: Universal Credit in payment; Jones: UC ended and income £24,850; Taylor: CTC with £14,200;
        // Brown: unknown; Khan: only a NASS number, which neither DWP nor HMRC can be asked with.
        var answer = await Env.EvaluateAsync("council-tax-support", Fixtures.ByName[surname]);

        answer.Outcome.Should().Be(expected);
        answer.Calls.Select(c => c.ProviderId).Should().Equal("dwp", "hmrc");
    }

    [Fact]
    public async Task Evaluate_WithNassNumber_DoesNotAskDwpOrHmrcAndSaysWhy()
    {
        var answer = await Env.EvaluateAsync("free-school-meals", Fixtures.Khan);

        var notAsked = answer.Calls.Where(c => c.ProviderId != "home-office").ToList();
        notAsked.Should().HaveCount(2).And.OnlyContain(c =>
            c.Status == ProviderCallStatus.NotFound &&
            c.Latency == TimeSpan.Zero &&
            c.FailureReason == ProviderFailureReasons.NotAskedNeedsNationalInsuranceNumber);
        answer.Calls.Single(c => c.ProviderId == "home-office").Latency.Should().BePositive();
    }

    [Fact]
    public async Task Evaluate_WithNiNumber_DoesNotAskTheHomeOfficeAndSaysWhy()
    {
        var answer = await Env.EvaluateAsync("free-school-meals", Fixtures.Smith);

        var homeOffice = answer.Calls.Single(c => c.ProviderId == "home-office");
        homeOffice.Status.Should().Be(ProviderCallStatus.NotFound);
        homeOffice.Latency.Should().Be(TimeSpan.Zero);
        homeOffice.FailureReason.Should().Be(ProviderFailureReasons.NotAskedNeedsAsylumSupportNumber);
        answer.Calls.Where(c => c.ProviderId != "home-office").Should().OnlyContain(c => c.Latency > TimeSpan.Zero && c.FailureReason == null);
    }

    [Fact]
    public async Task Evaluate_WithWrongSurname_IsNotFoundRatherThanNotEligible()
    {
        var answer = await Env.EvaluateAsync("free-school-meals", Fixtures.Smith with { LastName = "Smyth" });

        answer.Outcome.Should().Be(Outcome.NotFound);
    }

    [Fact]
    public async Task Evaluate_WithSurnameInAnotherCase_StillMatches()
    {
        var answer = await Env.EvaluateAsync("free-school-meals", Fixtures.Taylor with { LastName = "TAYLOR" });

        answer.Outcome.Should().Be(Outcome.Eligible);
    }

    [Fact]
    public async Task Evaluate_ForEveryFixture_WritesNoPersonalDataToAnyLog()
    {
        foreach (var subject in Fixtures.ByName.Values)
        {
            await Env.EvaluateAsync("free-school-meals", subject);
            await Env.EvaluateAsync("council-tax-support", subject);
        }

        var text = string.Join('\n', Env.GatewayLogs.Entries.Select(e => e.Message + e.Exception));
        text.Should().NotBeEmpty("the gateway logs its start-up, so the capture works");
        foreach (var value in Fixtures.PersonalData)
        {
            text.Should().NotContainEquivalentOf(value);
        }

        text.Should().NotContain(ProviderTestEnvironment.DwpCredential);
    }

    [Fact]
    public async Task Evaluate_WithAQuestionTheGatewayDoesNotKnow_FailsThatCallAndIsUndetermined()
    {
        // A reload can bring in a question after start-up; it fails with a reason, and never throws.
        var grant = Env.Grant("free-school-meals");
        grant = grant with { Scheme = grant.Scheme with { Questions = [new("dwp", "free-school-meals-savings"), new("hmrc", "free-school-meals-tax-credits")] } };

        var answer = await Env.Evaluator.EvaluateAsync(grant, Fixtures.Taylor, CancellationToken.None);

        answer.Outcome.Should().Be(Outcome.Eligible, "HMRC still says eligible");
        answer.Calls[0].Should().Be(new ProviderCall("dwp", ProviderCallStatus.Failed, TimeSpan.Zero, ProviderFailureReasons.UnknownQuestion));

        var brown = await Env.Evaluator.EvaluateAsync(grant, Fixtures.Brown, CancellationToken.None);
        brown.Outcome.Should().Be(Outcome.Undetermined, "an unanswered question is never a no");
    }

    [Fact]
    public async Task Evaluate_ForAProviderWithoutCredential_FailsWithoutCallingIt()
    {
        // A reload can name a provider the configuration has no credential for.
        var grant = Env.Grant("free-school-meals");
        var dvla = grant.Providers[0] with { Id = "dvla", BaseUrl = new Uri("http://127.0.0.1:1/dvla") };
        grant = grant with
        {
            Providers = [.. grant.Providers, dvla],
            Scheme = grant.Scheme with { Questions = [new("dvla", "free-school-meals-benefits")] },
        };

        var answer = await Env.Evaluator.EvaluateAsync(grant, Fixtures.Smith, CancellationToken.None);

        answer.Outcome.Should().Be(Outcome.Undetermined);
        answer.Calls.Should().Equal(new ProviderCall("dvla", ProviderCallStatus.Failed, TimeSpan.Zero, ProviderFailureReasons.NoCredential));
    }

    [Fact]
    public async Task Evaluate_SendsWhoAsksAndWhyWithEveryCall_AndTheTraceTheyBelongTo()
    {
        using var check = new Activity("check").SetIdFormat(ActivityIdFormat.W3C).Start();
        var traceId = check.TraceId.ToHexString();

        var answer = await Env.EvaluateAsync("free-school-meals", Fixtures.Smith);

        answer.Outcome.Should().Be(Outcome.Eligible);
        var calls = (await Env.RecordedCallsAsync()).Where(c => c.GetProperty("correlationId").GetString() == traceId).ToList();
        calls.Select(c => c.GetProperty("path").GetString()).Should().BeEquivalentTo(
            ["/dwp/v1/citizens/match", "/dwp/v1/citizens/3f6b1c2e-8d4a-4e7b-9a51-2c0d7e9f1a01/claims", "/hmrc/v1/tax-credits/lookup"],
            "Smith is asked of DWP (match, then claims) and HMRC; the Home Office needs a NASS number");
        calls.Should().OnlyContain(c =>
            c.GetProperty("requestingOrganisation").GetString() == "leeds" &&
            c.GetProperty("scheme").GetString() == "free-school-meals" &&
            c.GetProperty("purpose").GetString() == "dpv:ServiceProvision");
        calls.Should().OnlyContain(c => c.GetProperty("traceparent").GetString()!.StartsWith($"00-{traceId}-", StringComparison.Ordinal),
            "W3C trace context still goes with every call, naming the same trace as X-Correlation-Id");
    }

    [Fact]
    public async Task Evaluate_WithoutATrace_StillSendsAFreshW3CTraceIdAsCorrelationId()
    {
        Activity.Current = null;
        var before = (await Env.RecordedCallsAsync()).Count;

        await Env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        var calls = (await Env.RecordedCallsAsync()).Skip(before).ToList();
        calls.Should().NotBeEmpty();
        calls.Select(c => c.GetProperty("correlationId").GetString()).Distinct().Should().ContainSingle()
            .Which.Should().MatchRegex("^[0-9a-f]{32}$", "one evaluation is one correlation id");
    }

    [Fact]
    public void CircuitStates_AfterStart_NameEveryProviderAsClosed()
    {
        Env.Circuits.GetStates().Should().BeEquivalentTo(new Dictionary<string, CircuitState>
        {
            ["dwp"] = CircuitState.Closed,
            ["hmrc"] = CircuitState.Closed,
            ["home-office"] = CircuitState.Closed,
        });
    }
}
