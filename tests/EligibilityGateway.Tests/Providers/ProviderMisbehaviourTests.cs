using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using EligibilityGateway.Checks;
using EligibilityGateway.ProviderContracts;
using EligibilityGateway.Providers;
using Polly.CircuitBreaker;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMock.Settings;
using WireMockRequest = WireMock.RequestBuilders.Request;

namespace EligibilityGateway.Tests.Providers;

/// <summary>
/// The provider pipeline against an HMRC that misbehaves in ways the mock central government cannot: headers that
/// arrive late, a body cut short, malformed JSON, a connection reset, 429 and 503 with <c>Retry-After</c>. WireMock.Net
/// plays HMRC on a loopback port; DWP and the Home Office stay the real mock. Taylor's only qualifying record is at
/// HMRC, so the outcome shows what the pipeline made of HMRC's behaviour. Each test has its own gateway and WireMock.
/// </summary>
public sealed class ProviderMisbehaviourTests
{
    private const string LookupPath = "/hmrc/v1/tax-credits/lookup";

    /// <summary>Taylor as HMRC holds them: Child Tax Credit in payment, £14,200 — eligible for free school meals.</summary>
    private const string TaylorTaxCredits =
        """{"taxYear":"2026-27","annualHouseholdIncome":14200.00,"awards":[{"type":"child-tax-credit","status":"in-payment","startDate":"2026-04-06","endDate":null}]}""";

    [Fact]
    public async Task Evaluate_WhenHeadersArriveLaterThanTheAttemptTimeout_RetriesThenFailsWithTimeoutWithinTheTotal()
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).RespondWith(Ok().WithDelay(TimeSpan.FromSeconds(3)));
        await using var env = await StartAsync(hmrc, attemptTimeout: "PT0.3S", totalTimeout: "PT1.2S");

        var (answer, elapsed) = await TimedAsync(() => env.EvaluateAsync("free-school-meals", Fixtures.Taylor));

        Hmrc(answer).Status.Should().Be(ProviderCallStatus.Failed);
        Hmrc(answer).FailureReason.Should().Be(ProviderFailureReasons.Timeout);
        answer.Outcome.Should().Be(Outcome.Undetermined, "a provider that does not answer in time is never a no");
        elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2.5), "the 1.2 s total timeout bounds the call, not HMRC's 3 s");
        // WireMock logs a request once it has answered it, three seconds after it came.
        await WaitForAsync(() => hmrc.Lookups >= 2);
        env.GatewayLogs.WithEventId(ProviderEvents.Retrying).Should().NotBeEmpty("a timed-out attempt is transient, so it is tried again while the total allows");
    }

    [Theory]
    [InlineData(FaultType.MALFORMED_RESPONSE_CHUNK)]
    [InlineData(FaultType.EMPTY_RESPONSE)]
    public async Task Evaluate_WhenA200CarriesATruncatedOrEmptyBody_FailsAsMalformedWithoutRetrying(FaultType fault)
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).RespondWith(Ok().WithFault(fault));
        await using var env = await StartAsync(hmrc);

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        Hmrc(answer).FailureReason.Should().Be(ProviderFailureReasons.MalformedResponse);
        answer.Outcome.Should().Be(Outcome.Undetermined);
        hmrc.Lookups.Should().Be(1, "a complete 200 is an answer, however broken its body");
    }

    // WireMock.Net 1.25 faults only bodies; breaking the connection itself takes a real TCP listener of our own (BrokenConnections, below).

    [Fact]
    public async Task Evaluate_WhenTheBodyStopsShortOfItsContentLength_RetriesAndSucceedsOnceItArrivesWhole()
    {
        await using var hmrc = BrokenConnections.Start(BrokenConnections.Behaviour.CutShort, BrokenConnections.Behaviour.Whole);
        await using var env = await StartAsync(hmrc.BaseUrl);

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        Hmrc(answer).Status.Should().Be(ProviderCallStatus.Eligible);
        hmrc.Connections.Should().Be(2, "the cut-short body failed the first attempt inside the pipeline, which retried it");
        env.GatewayLogs.WithEventId(ProviderEvents.Retrying).Select(e => e.Message).Should().ContainSingle()
            .Which.Should().StartWith("Provider hmrc attempt 1 ended with HttpRequestException");
    }

    [Fact]
    public async Task Evaluate_WhenEveryBodyStopsShort_FailsAsConnectionFailedAfterTheRetries()
    {
        await using var hmrc = BrokenConnections.Start(BrokenConnections.Behaviour.CutShort);
        await using var env = await StartAsync(hmrc.BaseUrl);

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        Hmrc(answer).FailureReason.Should().Be(ProviderFailureReasons.ConnectionFailed);
        answer.Outcome.Should().Be(Outcome.Undetermined);
        hmrc.Connections.Should().Be(3, "the first attempt and the two retries of ProviderResilience:MaxRetryAttempts");
    }

    [Fact]
    public async Task Evaluate_WhenTheConnectionIsReset_RetriesAndSucceeds()
    {
        await using var hmrc = BrokenConnections.Start(BrokenConnections.Behaviour.Reset, BrokenConnections.Behaviour.Whole);
        await using var env = await StartAsync(hmrc.BaseUrl);

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        answer.Outcome.Should().Be(Outcome.Eligible);
        hmrc.Connections.Should().Be(2);
    }

    [Fact]
    public async Task Evaluate_WhenEveryConnectionIsReset_FailsAsConnectionFailed_AndLogsNoUrlOrPersonalData()
    {
        await using var hmrc = BrokenConnections.Start(BrokenConnections.Behaviour.Reset);
        await using var env = await StartAsync(hmrc.BaseUrl);

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        Hmrc(answer).FailureReason.Should().Be(ProviderFailureReasons.ConnectionFailed);
        answer.Outcome.Should().Be(Outcome.Undetermined);
        hmrc.Connections.Should().Be(3);
        var logged = string.Join('\n', env.GatewayLogs.Entries.Select(e => e.Message + e.Exception));
        logged.Should().Contain("Provider hmrc attempt 1 ended with HttpRequestException", "the retry is logged, by exception type");
        logged.Should().NotContain("/v1/tax-credits/lookup", "no provider URL is logged").And.NotContain(hmrc.BaseUrl.Authority);
        foreach (var value in Fixtures.PersonalData)
        {
            logged.Should().NotContainEquivalentOf(value);
        }
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"taxYear\":\"2026-27\",\"annualHouseholdIncome\":14200.00,\"awards\":[{\"type\":\"child-tax-credit\"")]
    [InlineData("""{"taxYear":"2026-27","annualHouseholdIncome":"a lot","awards":[]}""")]
    public async Task Evaluate_WhenTheBodyIsMalformedJson_FailsAsMalformedWithoutRetrying(string body)
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).RespondWith(Ok(body));
        await using var env = await StartAsync(hmrc);

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        Hmrc(answer).FailureReason.Should().Be(ProviderFailureReasons.MalformedResponse);
        answer.Outcome.Should().Be(Outcome.Undetermined, "an answer outside the contract is never a no");
        hmrc.Lookups.Should().Be(1, "a 200 is an answer; asking again would get the same body");
    }

    [Theory]
    [InlineData(400, "HTTP 400")]
    [InlineData(403, "HTTP 403")]
    [InlineData(404, "HTTP 404")]
    [InlineData(409, "HTTP 409")]
    public async Task Evaluate_OnAClientError_FailsWithoutRetrying(int status, string reason)
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).RespondWith(Problem(status));
        await using var env = await StartAsync(hmrc);

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        Hmrc(answer).FailureReason.Should().Be(reason);
        answer.Outcome.Should().Be(Outcome.Undetermined);
        hmrc.Lookups.Should().Be(1, "a 4xx is an answer, not a transient failure");
        env.GatewayLogs.WithEventId(ProviderEvents.Retrying).Should().BeEmpty();
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    [InlineData(408)]
    [InlineData(429)]
    public async Task Evaluate_OnATransientStatus_RetriesThenSucceeds(int status)
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).InScenario("transient").WillSetStateTo("fine").RespondWith(Problem(status));
        hmrc.Server.Given(Lookup()).InScenario("transient").WhenStateIs("fine").RespondWith(Ok());
        await using var env = await StartAsync(hmrc);

        var answer = await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        answer.Outcome.Should().Be(Outcome.Eligible);
        hmrc.Lookups.Should().Be(2);
    }

    [Theory]
    [InlineData(429)]
    [InlineData(503)]
    public async Task Evaluate_WithRetryAfterInSeconds_WaitsThatLongBeforeRetrying(int status)
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).InScenario("busy").WillSetStateTo("free")
            .RespondWith(Problem(status).WithHeader("Retry-After", "1"));
        hmrc.Server.Given(Lookup()).InScenario("busy").WhenStateIs("free").RespondWith(Ok());
        await using var env = await StartAsync(hmrc, settings: new() { ["ProviderResilience:RetryMaxDelay"] = "00:00:00.100" });

        var (answer, elapsed) = await TimedAsync(() => env.EvaluateAsync("free-school-meals", Fixtures.Taylor));

        answer.Outcome.Should().Be(Outcome.Eligible);
        hmrc.Lookups.Should().Be(2);
        elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(0.95), "Retry-After: 1 replaces a backoff capped at 100 ms");
        env.GatewayLogs.WithEventId(ProviderEvents.Retrying).Select(e => e.Message)
            .Should().ContainSingle().Which.Should().Be($"Provider hmrc attempt 1 ended with HTTP {status}; retrying in 1000 ms");
    }

    [Fact]
    public async Task Evaluate_WithRetryAfterAsAnHttpDate_WaitsUntilThen()
    {
        await using var hmrc = MisbehavingHmrc.Start();
        await using var env = await StartAsync(hmrc, settings: new() { ["ProviderResilience:RetryMaxDelay"] = "00:00:00.100" });

        // The date is taken once the gateway has started (which may take over a second on a loaded machine), just
        // before the check that meets it.
        var until = TimeProvider.System.GetUtcNow().AddSeconds(2);
        hmrc.Server.Given(Lookup()).InScenario("busy").WillSetStateTo("free")
            .RespondWith(Problem(503).WithHeader("Retry-After", until.ToString("r", CultureInfo.InvariantCulture)));
        hmrc.Server.Given(Lookup()).InScenario("busy").WhenStateIs("free").RespondWith(Ok());
        var (answer, elapsed) = await TimedAsync(() => env.EvaluateAsync("free-school-meals", Fixtures.Taylor));

        answer.Outcome.Should().Be(Outcome.Eligible);
        hmrc.Lookups.Should().Be(2);
        elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(0.9), "the date is one to two seconds ahead, at one-second resolution");
    }

    [Fact]
    public async Task Evaluate_WithRetryAfterBeyondTheTotalTimeout_FailsAtOnceWithThatAnswer()
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).RespondWith(Problem(503).WithHeader("Retry-After", "30"));
        await using var env = await StartAsync(hmrc);

        var (answer, elapsed) = await TimedAsync(() => env.EvaluateAsync("free-school-meals", Fixtures.Taylor));

        Hmrc(answer).FailureReason.Should().Be("HTTP 503", "waiting 30 s could only end in the 5 s total timeout");
        hmrc.Lookups.Should().Be(1);
        elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Breaker_OpensOnFailures_FailsFastWhileOpen_AndClosesWhenHmrcRecovers()
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).RespondWith(Problem(503));
        await using var env = await StartAsync(hmrc, settings: new()
        {
            ["ProviderResilience:BreakerMinimumThroughput"] = "2",
            ["ProviderResilience:BreakerSamplingDuration"] = "00:00:10",
            ["ProviderResilience:BreakerBreakDuration"] = "00:00:01",
        });

        var opening = await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);
        env.Circuits.GetStates()["hmrc"].Should().Be(CircuitState.Open);
        Hmrc(opening).FailureReason.Should().Be(ProviderFailureReasons.CircuitOpen, "the breaker opened on the second failed attempt and cut the third short");
        var seen = hmrc.Lookups;
        seen.Should().Be(2);

        var (open, elapsed) = await TimedAsync(() => env.EvaluateAsync("free-school-meals", Fixtures.Taylor));
        Hmrc(open).FailureReason.Should().Be(ProviderFailureReasons.CircuitOpen);
        open.Outcome.Should().Be(Outcome.Undetermined);
        elapsed.Should().BeLessThan(TimeSpan.FromMilliseconds(500));
        hmrc.Lookups.Should().Be(seen, "nothing reaches HMRC while its circuit is open");
        env.Circuits.GetStates()["dwp"].Should().Be(CircuitState.Closed, "each provider has its own circuit");

        hmrc.Server.ResetMappings();
        hmrc.Server.Given(Lookup()).RespondWith(Ok());
        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var recovered = await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        recovered.Outcome.Should().Be(Outcome.Eligible, "after the break a trial call goes through, succeeds and closes the circuit");
        env.Circuits.GetStates()["hmrc"].Should().Be(CircuitState.Closed);
        env.GatewayLogs.WithEventId(ProviderEvents.CircuitOpened).Should().ContainSingle(e => e.Message.StartsWith("Circuit for provider hmrc opened", StringComparison.Ordinal));
        env.GatewayLogs.WithEventId(ProviderEvents.CircuitClosed).Should().ContainSingle(e => e.Message == "Circuit for provider hmrc closed");
    }

    [Fact]
    public async Task ConcurrencyLimit_WithoutQueue_RejectsCallsBeyondMaxConcurrency()
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).RespondWith(Ok().WithDelay(TimeSpan.FromMilliseconds(500)));
        await using var env = await StartAsync(hmrc, maxConcurrency: 2, settings: new() { ["ProviderResilience:QueueLimit"] = "0" });

        var answers = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => env.EvaluateAsync("free-school-meals", Fixtures.Taylor)));

        var calls = answers.Select(Hmrc).ToList();
        calls.Count(c => c.Status == ProviderCallStatus.Eligible).Should().Be(2, "two slots");
        calls.Where(c => c.Status != ProviderCallStatus.Eligible).Should().HaveCount(3)
            .And.OnlyContain(c => c.FailureReason == ProviderFailureReasons.ConcurrencyLimit);
        hmrc.Lookups.Should().Be(2, "a rejected call sends nothing");
    }

    [Fact]
    public async Task ConcurrencyLimit_WithQueue_HoldsCallsUntilASlotFrees()
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).RespondWith(Ok().WithDelay(TimeSpan.FromMilliseconds(300)));
        await using var env = await StartAsync(hmrc, maxConcurrency: 1, settings: new() { ["ProviderResilience:QueueLimit"] = "8" });

        var (answers, elapsed) = await TimedAsync(() => Task.WhenAll(Enumerable.Range(0, 3).Select(_ => env.EvaluateAsync("free-school-meals", Fixtures.Taylor))));

        answers.Should().OnlyContain(a => a.Outcome == Outcome.Eligible);
        elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(880), "one at a time: three calls of 300 ms each");
        hmrc.MaxConcurrentLookups(TimeSpan.FromMilliseconds(280)).Should().Be(1, "HMRC never held two lookups at once");
    }

    [Fact]
    public async Task Reload_RaisingMaxConcurrency_LetsMoreCallsThrough()
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).RespondWith(Ok().WithDelay(TimeSpan.FromMilliseconds(400)));
        await using var env = await StartAsync(hmrc, maxConcurrency: 1, settings: new() { ["ProviderResilience:QueueLimit"] = "0" });
        var before = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => env.EvaluateAsync("free-school-meals", Fixtures.Taylor)));
        before.Count(a => Hmrc(a).Status == ProviderCallStatus.Eligible).Should().Be(1);

        var yaml = await File.ReadAllTextAsync(env.FrameworkPath);
        await File.WriteAllTextAsync(env.FrameworkPath, WithHmrcLimits(yaml, "PT2S", "PT5S", 3));
        await WaitForAsync(() => env.GatewayLogs.WithEventId(ProviderEvents.PipelineBuilt).Any(e =>
            e.Message.StartsWith("Resilience pipeline for provider hmrc built", StringComparison.Ordinal) && e.Message.EndsWith("max concurrency 3", StringComparison.Ordinal)));
        var after = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => env.EvaluateAsync("free-school-meals", Fixtures.Taylor)));

        after.Should().OnlyContain(a => Hmrc(a).Status == ProviderCallStatus.Eligible, "the reload gave HMRC three slots");
    }

    [Fact]
    public async Task Calls_CarryTheCallerHeadersHmrcNeeds()
    {
        await using var hmrc = MisbehavingHmrc.Start();
        hmrc.Server.Given(Lookup()).RespondWith(Ok());
        await using var env = await StartAsync(hmrc);

        await env.EvaluateAsync("free-school-meals", Fixtures.Taylor);

        var request = hmrc.Server.LogEntries.Single(e => e.RequestMessage.Path == LookupPath).RequestMessage;
        var headers = request.Headers!.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        headers[ProviderCallerHeaders.CorrelationId].Should().MatchRegex("^[0-9a-f]{32}$");
        headers[ProviderCallerHeaders.RequestingOrganisation].Should().Be("leeds");
        headers[ProviderCallerHeaders.Scheme].Should().Be("free-school-meals");
        headers[ProviderCallerHeaders.Purpose].Should().Be("dpv:ServiceProvision");
        headers["Authorization"].Should().Be("Bearer " + ProviderTestEnvironment.HmrcCredential);
        request.Body.Should().Be("""{"nationalInsuranceNumber":"EH345678B","lastName":"Taylor","dateOfBirth":"1978-11-30"}""");
    }

    private static WireMock.RequestBuilders.IRequestBuilder Lookup() => WireMockRequest.Create().WithPath(LookupPath).UsingPost();

    private static IResponseBuilder Ok(string body = TaylorTaxCredits) =>
        Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody(body);

    private static IResponseBuilder Problem(int status) =>
        Response.Create().WithStatusCode(status).WithHeader("Content-Type", "application/problem+json")
            .WithBody($$"""{"type":"urn:example:problem","title":"Status {{status}}","status":{{status}}}""");

    private static ProviderCall Hmrc(SchemeAnswer answer) => answer.Calls.Single(c => c.ProviderId == "hmrc");

    private static Task<ProviderTestEnvironment> StartAsync(Uri hmrcBaseUrl) =>
        ProviderTestEnvironment.StartAsync(new Dictionary<string, string?> { ["Providers:hmrc:BaseUrl"] = hmrcBaseUrl.ToString() });

    private static Task<ProviderTestEnvironment> StartAsync(
        MisbehavingHmrc hmrc,
        string attemptTimeout = "PT2S",
        string totalTimeout = "PT5S",
        int maxConcurrency = 64,
        Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? []) { ["Providers:hmrc:BaseUrl"] = hmrc.BaseUrl.ToString() };
        return ProviderTestEnvironment.StartAsync(all, yaml => WithHmrcLimits(yaml, attemptTimeout, totalTimeout, maxConcurrency));
    }

    /// <summary>The sandbox framework with HMRC's limits replaced (its entry only).</summary>
    private static string WithHmrcLimits(string yaml, string attemptTimeout, string totalTimeout, int maxConcurrency)
    {
        var start = yaml.IndexOf("- id: hmrc", StringComparison.Ordinal);
        start.Should().BeGreaterThanOrEqualTo(0);
        var end = yaml.IndexOf("rate_limit:", start, StringComparison.Ordinal);
        var entry = yaml[start..end];
        entry = Regex.Replace(entry, "attempt_timeout: \\S+", "attempt_timeout: " + attemptTimeout);
        entry = Regex.Replace(entry, "total_timeout: \\S+", "total_timeout: " + totalTimeout);
        entry = Regex.Replace(entry, "max_concurrency: \\S+", "max_concurrency: " + maxConcurrency.ToString(CultureInfo.InvariantCulture));
        return string.Concat(yaml.AsSpan(0, start), entry, yaml.AsSpan(end));
    }

    private static async Task<(T Value, TimeSpan Elapsed)> TimedAsync<T>(Func<Task<T>> action)
    {
        var stopwatch = Stopwatch.StartNew();
        var value = await action();
        return (value, stopwatch.Elapsed);
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(10), "the condition should hold by then");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>WireMock.Net on a free loopback port, playing HMRC under <c>/hmrc</c>.</summary>
    private sealed class MisbehavingHmrc : IAsyncDisposable
    {
        private MisbehavingHmrc(WireMockServer server) => Server = server;

        public WireMockServer Server { get; }

        public Uri BaseUrl => new(Server.Url + "/hmrc");

        /// <summary>Lookups that reached HMRC (WireMock logs each request as it is answered or faulted).</summary>
        public int Lookups => Server.LogEntries.Count(e => e.RequestMessage.Path == LookupPath);

        public static MisbehavingHmrc Start() => new(WireMockServer.Start(new WireMockServerSettings { Urls = ["http://127.0.0.1:0"] }));

        /// <summary>The most lookups whose [arrival, arrival + <paramref name="held"/>) overlapped.</summary>
        public int MaxConcurrentLookups(TimeSpan held)
        {
            var arrivals = Server.LogEntries.Where(e => e.RequestMessage.Path == LookupPath).Select(e => e.RequestMessage.DateTime).ToList();
            return arrivals.Max(a => arrivals.Count(o => o <= a && a < o + held));
        }

        public ValueTask DisposeAsync()
        {
            Server.Stop();
            Server.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>
/// An HMRC that breaks connections: a TCP listener on a free loopback port that reads each request and then, per
/// connection in turn (the last behaviour repeating), resets the connection, sends a 200 whose body stops short of its
/// Content-Length and closes, or answers Taylor's tax credits whole.
/// </summary>
internal sealed class BrokenConnections : IAsyncDisposable
{
    private const string Body =
        """{"taxYear":"2026-27","annualHouseholdIncome":14200.00,"awards":[{"type":"child-tax-credit","status":"in-payment","startDate":"2026-04-06","endDate":null}]}""";

    private readonly System.Net.Sockets.TcpListener listener;
    private readonly Behaviour[] behaviours;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task accepting;
    private int connections;

    private BrokenConnections(Behaviour[] behaviours)
    {
        this.behaviours = behaviours;
        listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        accepting = AcceptAsync();
    }

    public enum Behaviour
    {
        Reset,
        CutShort,
        Whole,
    }

    public Uri BaseUrl => new($"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}/hmrc");

    public int Connections => Volatile.Read(ref connections);

    public static BrokenConnections Start(params Behaviour[] behaviours) => new(behaviours);

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        try
        {
            await accepting;
        }
        catch (OperationCanceledException)
        {
        }

        stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            System.Net.Sockets.Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException)
            {
                return;
            }

            var number = Interlocked.Increment(ref connections);
            _ = ServeAsync(socket, behaviours[Math.Min(number, behaviours.Length) - 1]);
        }
    }

    private async Task ServeAsync(System.Net.Sockets.Socket socket, Behaviour behaviour)
    {
        using (socket)
        {
            try
            {
                await ReadRequestAsync(socket);
                var body = System.Text.Encoding.UTF8.GetBytes(Body);
                switch (behaviour)
                {
                    case Behaviour.Reset:
                        // Linger 0: close with RST rather than FIN.
                        socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
                        break;
                    case Behaviour.CutShort:
                        await socket.SendAsync(Head(body.Length));
                        await socket.SendAsync(body.AsMemory(0, body.Length / 3));
                        break;
                    default:
                        await socket.SendAsync(Head(body.Length));
                        await socket.SendAsync(body);
                        break;
                }
            }
            catch (System.Net.Sockets.SocketException)
            {
                // The client went away first; nothing to do.
            }
        }
    }

    private static byte[] Head(int contentLength) => System.Text.Encoding.ASCII.GetBytes(
        $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {contentLength}\r\nConnection: close\r\n\r\n");

    // Reads the request head and as much body as its Content-Length says, so that closing the socket afterwards does
    // not turn unread request bytes into an RST of its own.
    private static async Task ReadRequestAsync(System.Net.Sockets.Socket socket)
    {
        var buffer = new byte[16 * 1024];
        var received = 0;
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer.AsMemory(received));
            if (read == 0)
            {
                return;
            }

            received += read;
            var text = System.Text.Encoding.ASCII.GetString(buffer, 0, received);
            var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd < 0)
            {
                continue;
            }

            var match = Regex.Match(text[..headEnd], "(?im)^content-length:\\s*(\\d+)");
            var length = match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            if (received >= headEnd + 4 + length)
            {
                return;
            }
        }
    }
}

/// <summary>The provider feature's log event ids (src/EligibilityGateway/Providers/Log.cs).</summary>
internal static class ProviderEvents
{
    public const int Retrying = 1300;
    public const int CircuitOpened = 1301;
    public const int CircuitClosed = 1303;
    public const int PipelineBuilt = 1304;
}
