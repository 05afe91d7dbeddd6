using System.Diagnostics;
using EligibilityGateway.ServiceDefaults;
using EligibilityGateway.Tests.Infrastructure;
using FluentAssertions;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Xunit;

namespace EligibilityGateway.Tests.Telemetry;

public sealed class ServiceTelemetryTests : IDisposable
{
    private readonly string dataDirectory = Directory.CreateTempSubdirectory("egw-otel-unit-").FullName;

    [Theory]
    [InlineData("http://127.0.0.1:5001/dwp/v1/benefits/free-school-meals", "http://127.0.0.1:5001/dwp/v1/benefits/free-school-meals")]
    [InlineData("http://127.0.0.1:5001/v1/checks/0193a4b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b", "http://127.0.0.1:5001/v1/checks/{redacted}")]
    [InlineData("https://dwp.example/people/AB123456C/benefits?lastName=Smith&dob=1990-01-01", "https://dwp.example/people/{redacted}/benefits")]
    [InlineData("http://127.0.0.1:5001/home-office/v2/Khan", "http://127.0.0.1:5001/home-office/v2/{redacted}")]
    [InlineData("http://127.0.0.1:5001/hmrc/v123/x", "http://127.0.0.1:5001/hmrc/{redacted}/x")]
    [InlineData("not a url", "{redacted}")]
    public void FullUrls_KeepOnlySegmentsThatArePlainlyNames(string url, string exported) =>
        UrlRedaction.Full(url).Should().Be(exported);

    [Fact]
    public void ServerSpans_KeepTheRouteTemplate_AndNoQuery()
    {
        using var span = new Activity("server");
        span.SetTag("url.path", "/v1/checks/0193a4b2-7c1d-7e3f-8a9b-0c1d2e3f4a5b");
        span.SetTag("http.route", "/v1/checks/{checkId}");
        span.SetTag("url.query", "?nino=AB123456C");
        using var unmatched = new Activity("server");
        unmatched.SetTag("url.path", "/people/AB123456C");

        new UrlRedactionProcessor().OnEnd(span);
        new UrlRedactionProcessor().OnEnd(unmatched);

        span.GetTagItem("url.path").Should().Be("/v1/checks/{checkId}");
        span.GetTagItem("url.query").Should().BeNull();
        unmatched.GetTagItem("url.path").Should().Be(UrlRedaction.Redacted);
    }

    [Fact]
    public void WithoutAnEndpoint_NothingIsWired()
    {
        using var app = TestGateway.Build(dataDirectory, new Dictionary<string, string?> { [ServiceTelemetry.EndpointSetting] = null });

        app.Services.GetService<TracerProvider>().Should().BeNull();
        app.Services.GetService<MeterProvider>().Should().BeNull();
    }

    [Fact]
    public void WithAnEndpoint_TracesAndMetricsAreWired()
    {
        using var app = TestGateway.Build(dataDirectory, new Dictionary<string, string?> { [ServiceTelemetry.EndpointSetting] = "http://127.0.0.1:9" });

        app.Services.GetService<TracerProvider>().Should().NotBeNull();
        app.Services.GetService<MeterProvider>().Should().NotBeNull();
    }

    public void Dispose() => Directory.Delete(dataDirectory, recursive: true);
}
