using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Sandbox;
using EligibilityGateway.ServiceDefaults;
using EligibilityGateway.Telemetry;
using EligibilityGateway.Tests.EndToEnd;
using EligibilityGateway.Tests.Infrastructure;
using EligibilityGateway.Tests.TrustFramework;
using FluentAssertions;
using Microsoft.Data.Sqlite;
using MockCentralGovernment;
using Xunit;

namespace EligibilityGateway.Tests.Telemetry;

/// <summary>
/// The gateway and the mock central government as two processes, each exporting over OTLP/HTTP to a receiver the
/// test runs, after a known sequence: one token; Smith three times (live, then twice from the cache), the first
/// with a trace context the test chose; Jones once; Smith under lawful basis consent without a consent (denied);
/// the first check read back by id.
/// </summary>
public sealed class TelemetryExportFixture : IAsyncLifetime
{
    internal OtlpReceiver Receiver { get; private set; } = null!;

    internal ServiceProcess Mock { get; private set; } = null!;

    internal ServiceProcess Gateway { get; private set; } = null!;

    internal string DataDirectory { get; } = Directory.CreateTempSubdirectory("egw-otel-").FullName;

    /// <summary>The trace the first Smith check was sent in (W3C traceparent from the test).</summary>
    internal ActivityTraceId FirstCheckTrace { get; } = ActivityTraceId.CreateRandom();

    /// <summary>The trace the denied check was sent in.</summary>
    internal ActivityTraceId DeniedCheckTrace { get; } = ActivityTraceId.CreateRandom();

    internal string FirstCheckId { get; private set; } = null!;

    internal List<(HttpStatusCode Status, string? Outcome, string? ServedFrom)> Answers { get; } = [];

    public async Task InitializeAsync()
    {
        Receiver = await OtlpReceiver.StartAsync();
        Mock = await ServiceProcess.StartAsync("MockCentralGovernment.dll", Otel());

        var gateway = Otel();
        foreach (var (key, value) in SandboxHost.GatewaySettings(TrustFrameworkFiles.SandboxPath, DataDirectory, Mock.Address, redis: null))
        {
            gateway[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        Gateway = await ServiceProcess.StartAsync("EligibilityGateway.dll", gateway);

        using var http = new HttpClient { BaseAddress = Gateway.Address };
        var token = await SandboxClients.TokenAsync(http, Gateway.Address);
        var first = await CheckAsync(http, token, Subjects.Check(Subjects.Smith), FirstCheckTrace);
        FirstCheckId = first.CheckId!;
        await CheckAsync(http, token, Subjects.Check(Subjects.Smith), null);
        await CheckAsync(http, token, Subjects.Check(Subjects.Smith), null);
        await CheckAsync(http, token, Subjects.Check(Subjects.Jones), null);
        await CheckAsync(http, token, Subjects.Check(Subjects.Smith, basis: "consent"), DeniedCheckTrace);

        // A probe, as a load balancer or Kubernetes sends them; then the read-back, whose span is exported after it.
        (await http.GetAsync("/health/ready")).EnsureSuccessStatusCode();
        (await http.GetAsync("/health/live")).EnsureSuccessStatusCode();

        using var readBack = new HttpRequestMessage(HttpMethod.Get, $"/v1/checks/{FirstCheckId}");
        readBack.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var read = await http.SendAsync(readBack);
        read.StatusCode.Should().Be(HttpStatusCode.OK);

        async Task<(string? CheckId, string? Outcome)> CheckAsync(HttpClient client, string bearer, string body, ActivityTraceId? trace)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/checks") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            if (trace is { } traceId)
            {
                request.Headers.Add("traceparent", $"00-{traceId.ToHexString()}-{ActivitySpanId.CreateRandom().ToHexString()}-01");
            }

            using var response = await client.SendAsync(request);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            string? Read(string name) => json.RootElement.TryGetProperty(name, out var value) ? value.GetString() : null;
            Answers.Add((response.StatusCode, Read("outcome"), Read("servedFrom")));
            return (Read("checkId"), Read("outcome"));
        }
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Mock.DisposeAsync();
        await Receiver.DisposeAsync();
        Directory.Delete(DataDirectory, recursive: true);
    }

    /// <summary>What an operator sets: the endpoint, OTLP/HTTP, and short export intervals so that the test need not wait.</summary>
    private Dictionary<string, string?> Otel() => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Receiver.Endpoint.GetLeftPart(UriPartial.Authority),
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
        ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
    };
}

public sealed class TelemetryExportTests(TelemetryExportFixture otel) : IClassFixture<TelemetryExportFixture>
{
    private static readonly TimeSpan ExportWait = TimeSpan.FromSeconds(30);
    private const int ServerKind = 2;
    private const int ClientKind = 3;

    [Fact]
    public void TheSequence_WasAnsweredAsTheTestAssumes()
    {
        otel.Answers.Should().Equal(
            (HttpStatusCode.OK, "eligible", "live"),
            (HttpStatusCode.OK, "eligible", "cache"),
            (HttpStatusCode.OK, "eligible", "cache"),
            (HttpStatusCode.OK, "not-eligible", "live"),
            (HttpStatusCode.Forbidden, null, null));
    }

    [Fact]
    public async Task ALiveCheck_IsOneTrace_AcrossTheGatewayItsOwnSpansAndTheMocksServerSpans()
    {
        var trace = otel.FirstCheckTrace.ToHexString();
        await otel.Receiver.WaitForAsync(
            r => r.Spans.Count(s => s.TraceId == trace && s.Service == MockGovernmentApplication.ServiceName && s.Kind == ServerKind) >= 3,
            ExportWait,
            "the mock's server spans of the first check");
        await otel.Receiver.WaitForAsync(r => r.Spans.Any(s => s.TraceId == trace && s.Kind == ServerKind && s.Service == GatewayTelemetry.ServiceName), ExportWait, "the gateway's server span");

        var spans = otel.Receiver.Spans.Where(s => s.TraceId == trace).ToList();
        var server = spans.Should().ContainSingle(s => s.Service == GatewayTelemetry.ServiceName && s.Kind == ServerKind).Subject;
        server.Name.Should().StartWith("POST /v1/checks");
        server.Attributes["http.response.status_code"].Should().Be(200L);

        var gatewaySpans = spans.Where(s => s.Service == GatewayTelemetry.ServiceName).ToList();
        gatewaySpans.Select(s => s.Name).Should().Contain(["policy decide", "cache lookup", "provider question", "audit append"]);
        gatewaySpans.Single(s => s.Name == "cache lookup").Attributes["eligibility_gateway.cache.hit"].Should().Be(false);
        gatewaySpans.Single(s => s.Name == "audit append").Attributes["eligibility_gateway.audit.event_type"].Should().Be("check");
        gatewaySpans.Where(s => s.Name == "provider question").Select(s => s.Attributes["eligibility_gateway.provider"])
            .Should().BeEquivalentTo(["dwp", "hmrc", "home-office"]);

        // The mock's server spans are children of the gateway's client spans: W3C trace context crossed the wire.
        var clientSpanIds = gatewaySpans.Where(s => s.Kind == ClientKind).Select(s => s.SpanId).ToHashSet();
        var mockServers = spans.Where(s => s.Service == MockGovernmentApplication.ServiceName && s.Kind == ServerKind).ToList();
        // DWP matches the person, then reads their claims; HMRC looks them up; the Home Office, which knows people by
        // NASS number, is not asked about a National Insurance number.
        mockServers.Select(s => s.Name).Should().BeEquivalentTo(
            ["POST /dwp/v1/citizens/match", "GET /dwp/v1/citizens/{citizenId}/claims", "POST /hmrc/v1/tax-credits/lookup"]);
        mockServers.Should().OnlyContain(s => clientSpanIds.Contains(s.ParentSpanId));

        // Every gateway span of the check hangs off its server span.
        var byId = gatewaySpans.ToDictionary(s => s.SpanId);
        foreach (var span in gatewaySpans.Where(s => s != server))
        {
            var ancestor = span;
            while (ancestor.ParentSpanId != server.SpanId && byId.TryGetValue(ancestor.ParentSpanId, out var parent))
            {
                ancestor = parent;
            }

            ancestor.ParentSpanId.Should().Be(server.SpanId, $"'{span.Name}' belongs to the check's request");
        }
    }

    [Fact]
    public async Task HealthProbes_AreNotTraced_WhileTheRequestsAroundThemAre()
    {
        await otel.Receiver.WaitForAsync(
            r => r.Spans.Any(s => s.Kind == ServerKind && s.Service == GatewayTelemetry.ServiceName && s.Name == "GET /v1/checks/{checkId}"),
            ExportWait,
            "the read-back's server span, sent after the probes");

        var server = otel.Receiver.Spans.Where(s => s.Kind == ServerKind && s.Service == GatewayTelemetry.ServiceName).ToList();
        server.Select(s => s.Name).Should().Contain("POST /v1/checks/");
        server.Should().NotContain(s => s.Name.Contains("/health", StringComparison.Ordinal));
        // Each keeps its route template for its path, or nothing of the path when no route matched (the token endpoint).
        server.Should().OnlyContain(s => Equals(s.Attributes["url.path"], s.Attributes.GetValueOrDefault("http.route") ?? UrlRedaction.Redacted));
    }

    [Fact]
    public async Task TheAuditRecordOfACheck_CarriesTheTraceOfThatCheck()
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(otel.DataDirectory, "audit.db")};Mode=ReadOnly;Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT trace_id FROM audit_records WHERE check_id = $id";
        command.Parameters.AddWithValue("$id", otel.FirstCheckId);
        (await command.ExecuteScalarAsync()).Should().Be(otel.FirstCheckTrace.ToHexString());
    }

    [Fact]
    public async Task Metrics_CountTheSequence()
    {
        await otel.Receiver.WaitForAsync(r => Latest(r, GatewayMetrics.ChecksName).Sum(p => p.Value) >= 5, ExportWait, "five checks counted");
        await otel.Receiver.WaitForAsync(r => Latest(r, GatewayMetrics.ProviderCallDurationName).Sum(p => p.Value) >= 4, ExportWait, "four provider calls");

        var checks = Latest(otel.Receiver, GatewayMetrics.ChecksName);
        Count(checks, ("decision", "allow"), ("outcome", "eligible"), ("served_from", "live")).Should().Be(1);
        Count(checks, ("decision", "allow"), ("outcome", "eligible"), ("served_from", "cache")).Should().Be(2);
        Count(checks, ("decision", "allow"), ("outcome", "not-eligible"), ("served_from", "live")).Should().Be(1);
        Count(checks, ("decision", "deny"), ("rule", "deny:consent-not-presented")).Should().Be(1);
        checks.Should().OnlyContain(p => Equals(p.Attributes["council"], "leeds") && Equals(p.Attributes["scheme"], "free-school-meals"));
        checks.Sum(p => p.Value).Should().Be(5);

        var providerCalls = Latest(otel.Receiver, GatewayMetrics.ProviderCallDurationName);
        Count(providerCalls, ("provider", "dwp")).Should().Be(2);
        Count(providerCalls, ("provider", "hmrc")).Should().Be(2);
        Count(providerCalls, ("provider", "home-office")).Should().Be(0, "the Home Office is not asked about a National Insurance number");
        providerCalls.Should().OnlyContain(p => p.Sum > 0, "each call took some time");

        // Breaker state: every provider's circuit closed, as nothing failed.
        var circuits = Latest(otel.Receiver, GatewayMetrics.CircuitStateName);
        Count(circuits, ("state", "closed")).Should().Be(3);
        Count(circuits, ("state", "open")).Should().Be(0);

        Count(Latest(otel.Receiver, GatewayMetrics.TokensIssuedName), ("grant_type", "client_credentials"), ("client", "leeds")).Should().Be(1);

        // The cache's own counters, from which the hit ratio follows: two hits in four lookups.
        var lookups = Latest(otel.Receiver, "eligibility_gateway.cache.lookups");
        Count(lookups, ("result", "hit")).Should().Be(2);
        Count(lookups, ("result", "miss")).Should().Be(2);

        // Audit append latency and batch size: every record committed (token, five checks) was measured.
        await otel.Receiver.WaitForAsync(r => Latest(r, "eligibility_gateway.audit.batch.size").Sum(p => p.Sum ?? 0) >= 6, ExportWait, "six audit records");
        Latest(otel.Receiver, "eligibility_gateway.audit.append.duration").Sum(p => p.Value).Should().BeGreaterThanOrEqualTo(6);

        // The library instruments report too: ASP.NET Core server requests, HttpClient to the providers, the runtime.
        otel.Receiver.MetricPoints.Select(p => p.Metric).Should().Contain(["http.server.request.duration", "http.client.request.duration", "dotnet.gc.collections"]);
    }

    [Fact]
    public async Task Logs_AreExported_WithTheTraceOfTheRequestTheyWereWrittenIn()
    {
        // A denied check is logged at Information ("Check denied … by rule …"); the record carries the request's trace.
        var trace = otel.DeniedCheckTrace.ToHexString();
        await otel.Receiver.WaitForAsync(r => r.Logs.Any(l => l.TraceId == trace), ExportWait, "a gateway log record in the denied check's trace");

        var denied = otel.Receiver.Logs.Where(l => l.TraceId == trace).Should().ContainSingle().Subject;
        denied.Service.Should().Be(GatewayTelemetry.ServiceName);
        denied.Body.Should().Contain("deny:consent-not-presented");
    }

    [Fact]
    public async Task NothingExported_HoldsPersonalData_OrARecordId()
    {
        await otel.Receiver.WaitForAsync(r => r.Received.Select(b => b.Signal).Distinct().Count() == 3, ExportWait, "traces, metrics and logs");
        await otel.Receiver.WaitForAsync(r => r.Spans.Any(s => s.Attributes.TryGetValue("http.route", out var route) && route is string text && text.Contains("{checkId}", StringComparison.Ordinal)), ExportWait, "the read-back's span");

        foreach (var (signal, body) in otel.Receiver.Received)
        {
            foreach (var personal in Subjects.PersonalData)
            {
                body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(personal)).Should().Be(-1, $"'{personal}' must not be exported in {signal}");
            }

            if (signal == "traces")
            {
                // The read-back's path held the check id; the span keeps the route template instead.
                body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(otel.FirstCheckId)).Should().Be(-1, "a record's id must not reach a span");
            }
        }

        // The provider calls' URLs: DWP's citizen id (a GUID) in the claims path is replaced, and no query is kept.
        var urls = otel.Receiver.Spans.Where(s => s.Attributes.ContainsKey("url.full")).Select(s => s.Attributes["url.full"]!.ToString()!).ToList();
        urls.Should().Contain(url => url.EndsWith("/dwp/v1/citizens/{redacted}/claims", StringComparison.Ordinal));
        urls.Should().NotContain(url => url.Contains('?'));
        urls.SelectMany(url => url.Split('/')).Where(segment => Guid.TryParse(segment, out _)).Should().BeEmpty();
        otel.Receiver.Spans.Should().OnlyContain(s => !s.Attributes.ContainsKey("url.query"));
    }

    /// <summary>The latest exported value of each attribute set of <paramref name="metric"/> (cumulative temporality).</summary>
    private static List<OtlpMetricPoint> Latest(OtlpReceiver receiver, string metric) =>
        [.. receiver.MetricPoints.Where(p => p.Metric == metric && p.Service == GatewayTelemetry.ServiceName)
            .GroupBy(p => string.Join(',', p.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}")))
            .Select(g => g.Last())];

    private static double Count(IEnumerable<OtlpMetricPoint> points, params (string Key, string Value)[] match) =>
        points.Where(p => match.All(m => p.Attributes.TryGetValue(m.Key, out var value) && Equals(value, m.Value))).Sum(p => p.Value);
}
