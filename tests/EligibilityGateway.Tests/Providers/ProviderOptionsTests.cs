using EligibilityGateway.Providers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Tests.Providers;

/// <summary>Configuration rules, checked before the gateway takes a request.</summary>
public sealed class ProviderOptionsTests
{
    [Fact]
    public void ResilienceDefaults_AreValid()
    {
        new ProviderResilienceOptionsValidator().Validate(null, new ProviderResilienceOptions()).Succeeded.Should().BeTrue();
    }

    [Fact]
    public void Resilience_WithBaseDelayAboveMaxDelay_IsRefusedNamingBothKeys()
    {
        var options = new ProviderResilienceOptions { RetryBaseDelay = TimeSpan.FromSeconds(3), RetryMaxDelay = TimeSpan.FromSeconds(2) };

        var result = new ProviderResilienceOptionsValidator().Validate(null, options);

        result.Failures.Should().ContainSingle().Which.Should().Contain("ProviderResilience:RetryBaseDelay").And.Contain("ProviderResilience:RetryMaxDelay");
    }

    [Fact]
    public void Resilience_WithSamplingWindowNoLongerThanMaxDelay_IsRefused()
    {
        var options = new ProviderResilienceOptions { RetryMaxDelay = TimeSpan.FromSeconds(2), BreakerSamplingDuration = TimeSpan.FromSeconds(2) };

        new ProviderResilienceOptionsValidator().Validate(null, options).Failures.Should().ContainSingle()
            .Which.Should().StartWith("ProviderResilience:BreakerSamplingDuration");
    }

    [Theory]
    [InlineData(nameof(ProviderResilienceOptions.MaxRetryAttempts))]
    [InlineData(nameof(ProviderResilienceOptions.BreakerFailureRatio))]
    [InlineData(nameof(ProviderResilienceOptions.BreakerMinimumThroughput))]
    [InlineData(nameof(ProviderResilienceOptions.BreakerBreakDuration))]
    [InlineData(nameof(ProviderResilienceOptions.QueueLimit))]
    public void Resilience_WithAValueOutOfRange_IsRefusedNamingTheKey(string field)
    {
        var options = new ProviderResilienceOptions();
        switch (field)
        {
            case nameof(ProviderResilienceOptions.MaxRetryAttempts): options.MaxRetryAttempts = 11; break;
            case nameof(ProviderResilienceOptions.BreakerFailureRatio): options.BreakerFailureRatio = 0; break;
            case nameof(ProviderResilienceOptions.BreakerMinimumThroughput): options.BreakerMinimumThroughput = 1; break;
            case nameof(ProviderResilienceOptions.BreakerBreakDuration): options.BreakerBreakDuration = TimeSpan.FromMilliseconds(100); break;
            case nameof(ProviderResilienceOptions.QueueLimit): options.QueueLimit = -1; break;
        }

        new ProviderResilienceOptionsValidator().Validate(null, options).Failures.Should().ContainSingle()
            .Which.Should().StartWith($"ProviderResilience:{field} ");
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("line\nbreak")]
    [InlineData("=leading")]
    public void Endpoint_WithCredentialThatIsNotABearerToken_IsRefused(string credential)
    {
        var options = new ProviderEndpointsOptions();
        options.Providers["dwp"] = new ProviderEndpointOptions { Credential = credential };

        new ProviderEndpointsOptionsValidator().Validate(null, options).Failures.Should().ContainSingle()
            .Which.Should().StartWith("Providers:dwp:Credential");
    }

    [Theory]
    [InlineData("ftp://127.0.0.1/dwp")]
    [InlineData("http://user:pass@127.0.0.1/dwp")]
    [InlineData("http://127.0.0.1/dwp?x=1")]
    [InlineData("/dwp")]
    public void Endpoint_WithUnusableBaseUrl_IsRefused(string baseUrl)
    {
        var options = new ProviderEndpointsOptions();
        options.Providers["dwp"] = new ProviderEndpointOptions { Credential = "dwp-sandbox-credential", BaseUrl = new Uri(baseUrl, UriKind.RelativeOrAbsolute) };

        new ProviderEndpointsOptionsValidator().Validate(null, options).Failures.Should().ContainSingle()
            .Which.Should().StartWith("Providers:dwp:BaseUrl");
    }

    [Fact]
    public async Task Start_WithoutACredentialForAFrameworkProvider_FailsNamingTheKey()
    {
        var start = () => ProviderTestEnvironment.StartAsync(new Dictionary<string, string?> { ["Providers:home-office:Credential"] = null });

        var failure = await start.Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Failures.Should().ContainSingle().Which.Should()
            .Be("Providers:home-office:Credential is required: the trust framework names provider 'home-office'.");
    }

    [Fact]
    public async Task Start_WithAFrameworkQuestionTheGatewayDoesNotKnow_FailsNamingIt()
    {
        var start = () => ProviderTestEnvironment.StartAsync(editFramework: yaml =>
            yaml.Replace("question: council-tax-support-income", "question: council-tax-support-savings", StringComparison.Ordinal));

        var failure = await start.Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Failures.Should().ContainSingle().Which.Should()
            .StartWith("Trust framework scheme 'council-tax-support' asks provider 'hmrc' the unknown question 'council-tax-support-savings'");
    }

    [Fact]
    public async Task Start_WithInvalidResilienceOptions_Fails()
    {
        var start = () => ProviderTestEnvironment.StartAsync(new Dictionary<string, string?> { ["ProviderResilience:BreakerMinimumThroughput"] = "1" });

        var failure = await start.Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Failures.Should().Contain(f => f.StartsWith("ProviderResilience:BreakerMinimumThroughput", StringComparison.Ordinal));
    }

    [Fact]
    public void AddProviders_CalledTwice_PutsOneResilienceHandlerOnEachClient()
    {
        var configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection();

        services.AddProviders(configuration);
        var once = services.Count;
        services.AddProviders(configuration);

        services.Should().HaveCount(once);
    }
}
