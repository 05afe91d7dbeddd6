using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Caching;
using EligibilityGateway.Security;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.TrustFramework;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Tests.Caching;

public sealed class CacheOptionsTests
{
    [Fact]
    public void Defaults_AreValidAndFitTheRecoveryBudget()
    {
        var result = new CacheOptionsValidator().Validate(null, new CacheOptions());

        result.Succeeded.Should().BeTrue();
    }

    [Theory]
    [InlineData("Cache:Redis", "127.0.0.1:6379,notAnOption=1", "Cache:Redis is not a valid Redis configuration")]
    [InlineData("Cache:Redis", ",", "Cache:Redis names no endpoint")]
    [InlineData("Cache:OperationTimeout", "00:00:00.001", "Cache:OperationTimeout must be from")]
    [InlineData("Cache:ConnectTimeout", "00:00:10", "Cache:ConnectTimeout must be from")]
    [InlineData("Cache:BackOff", "00:00:00.010", "Cache:BackOff must be from")]
    [InlineData("Cache:MemorySizeLimitBytes", "1000", "Cache:MemorySizeLimitBytes must be from")]
    public async Task Start_WithAnInvalidSetting_FailsNamingIt(string setting, string value, string message)
    {
        using var keys = new TemporaryKeyRing();
        await using var app = TestGateway.Build(keys.Directory, new Dictionary<string, string?> { [setting] = value });

        var failure = await app.Invoking(a => a.StartOnFreePortAsync()).Should().ThrowAsync<OptionsValidationException>();

        failure.Which.Failures.Should().ContainMatch($"{message}*");
    }

    [Fact]
    public void Validate_WhenConnectTimeoutPlusBackOffExceedsEightSeconds_RefusesForTheTenSecondRecoveryRule()
    {
        var result = new CacheOptionsValidator().Validate(null, new CacheOptions { ConnectTimeout = TimeSpan.FromSeconds(4), BackOff = TimeSpan.FromSeconds(5) });

        result.Failed.Should().BeTrue();
        result.Failures.Should().ContainSingle().Which.Should().Contain("within 10 seconds of Redis returning");
    }
}
