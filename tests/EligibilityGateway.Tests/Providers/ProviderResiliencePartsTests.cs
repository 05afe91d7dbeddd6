using System.Net;
using System.Net.Http.Headers;
using EligibilityGateway.Providers;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace EligibilityGateway.Tests.Providers;

/// <summary>The pure pieces of the pipeline: what is transient, how Retry-After is read, how failures are named.</summary>
public sealed class ProviderResiliencePartsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(HttpStatusCode.RequestTimeout, true)]
    [InlineData(HttpStatusCode.TooManyRequests, true)]
    [InlineData(HttpStatusCode.InternalServerError, true)]
    [InlineData(HttpStatusCode.BadGateway, true)]
    [InlineData(HttpStatusCode.ServiceUnavailable, true)]
    [InlineData(HttpStatusCode.GatewayTimeout, true)]
    [InlineData(HttpStatusCode.OK, false)]
    [InlineData(HttpStatusCode.BadRequest, false)]
    [InlineData(HttpStatusCode.Unauthorized, false)]
    [InlineData(HttpStatusCode.Forbidden, false)]
    [InlineData(HttpStatusCode.NotFound, false)]
    [InlineData(HttpStatusCode.NotImplemented, false)]
    public void IsTransient_ForStatus_RetriesOnlyTransientServerAnswers(HttpStatusCode status, bool transient)
    {
        using var response = new HttpResponseMessage(status);

        TransientFailures.IsTransient(Outcome.FromResult(response)).Should().Be(transient);
    }

    [Fact]
    public void IsTransient_ForExceptions_RetriesTransportErrorsAndAttemptTimeoutsOnly()
    {
        TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new HttpRequestException("refused"))).Should().BeTrue();
        TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new TimeoutRejectedException())).Should().BeTrue();
        TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new BrokenCircuitException())).Should().BeFalse();
        TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new ConcurrencyLimitExceededException())).Should().BeFalse();
        TransientFailures.IsTransient(Outcome.FromException<HttpResponseMessage>(new OperationCanceledException())).Should().BeFalse();
    }

    [Fact]
    public void RetryAfter_InSeconds_IsThatDelay()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(3));

        RetryAfter.Delay(response, Now).Should().Be(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void RetryAfter_AsHttpDate_IsTheTimeUntilThen()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.TryAddWithoutValidation("Retry-After", "Sun, 22 Nov 2026 10:00:04 GMT").Should().BeTrue();

        RetryAfter.Delay(response, Now).Should().Be(TimeSpan.FromSeconds(4));
    }

    [Fact]
    public void RetryAfter_AsPastHttpDate_IsNoWait()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        response.Headers.TryAddWithoutValidation("Retry-After", "Sun, 22 Nov 2026 09:59:00 GMT").Should().BeTrue();

        RetryAfter.Delay(response, Now).Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void RetryAfter_WhenAbsentOrUnreadable_LeavesTheBackoffToDecide()
    {
        using var absent = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        using var unreadable = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        unreadable.Headers.TryAddWithoutValidation("Retry-After", "soon");

        RetryAfter.Delay(absent, Now).Should().BeNull();
        RetryAfter.Delay(unreadable, Now).Should().BeNull();
    }

    [Theory]
    [InlineData(typeof(BrokenCircuitException), ProviderFailureReasons.CircuitOpen)]
    [InlineData(typeof(IsolatedCircuitException), ProviderFailureReasons.CircuitOpen)]
    [InlineData(typeof(TimeoutRejectedException), ProviderFailureReasons.Timeout)]
    [InlineData(typeof(ConcurrencyLimitExceededException), ProviderFailureReasons.ConcurrencyLimit)]
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
