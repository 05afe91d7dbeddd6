using System.Net;
using EligibilityGateway.Providers;
using Polly.RateLimiting;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace EligibilityGateway.Tests.Providers;

/// <summary>The pure pieces around the pipeline: how failures are named, and where a call goes.</summary>
public sealed class ProviderResiliencePartsTests
{
    [Theory]
    [InlineData(typeof(BrokenCircuitException), ProviderFailureReasons.CircuitOpen)]
    [InlineData(typeof(IsolatedCircuitException), ProviderFailureReasons.CircuitOpen)]
    [InlineData(typeof(TimeoutRejectedException), ProviderFailureReasons.Timeout)]
    [InlineData(typeof(RateLimiterRejectedException), ProviderFailureReasons.ConcurrencyLimit)]
    [InlineData(typeof(HttpRequestException), ProviderFailureReasons.ConnectionFailed)]
    [InlineData(typeof(System.Text.Json.JsonException), ProviderFailureReasons.MalformedResponse)]
    [InlineData(typeof(InvalidOperationException), ProviderFailureReasons.Unexpected)]
    public void FailureReason_ForEachException_IsShortAndStable(Type exceptionType, string reason)
    {
        var exception = (Exception)Activator.CreateInstance(exceptionType)!;

        ProviderFailureReasons.ForException(exception).Should().Be(reason);
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, "credential refused (HTTP 401)")]
    [InlineData(HttpStatusCode.ServiceUnavailable, "HTTP 503")]
    [InlineData(HttpStatusCode.BadRequest, "HTTP 400")]
    public void FailureReason_ForStatus_NamesTheStatus(HttpStatusCode status, string reason)
    {
        ProviderFailureReasons.ForStatus(status).Should().Be(reason);
    }

    [Fact]
    public void Endpoint_ResolvesPathsUnderTheBaseUrlsOwnPath()
    {
        var endpoint = new ProviderEndpoint("dwp", new Uri("http://127.0.0.1:8081/dwp"), "secret-credential");

        endpoint.Resolve("v1/citizens/match").Should().Be(new Uri("http://127.0.0.1:8081/dwp/v1/citizens/match"));
        (endpoint with { BaseUrl = new Uri("http://127.0.0.1:8081/dwp/") }).Resolve("v1/citizens/match")
            .Should().Be(new Uri("http://127.0.0.1:8081/dwp/v1/citizens/match"));
        endpoint.ToString().Should().NotContain("secret-credential");
    }
}
