using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using EligibilityGateway.Cli;
using EligibilityGateway.Tests.EndToEnd;
using Microsoft.Extensions.Time.Testing;
using WireMock.ResponseBuilders;
using WireMock.Server;
using WireMockRequest = WireMock.RequestBuilders.Request;

namespace EligibilityGateway.Tests.Cli;

/// <summary>
/// The council's HTTP client of <c>egw bulk check</c> (<see cref="CouncilHttpClient"/>): its token renewed before it runs
/// out and after the gateway refuses it, against the sandbox's real token endpoint and bearer validation; and which
/// requests a transient failure retries, against WireMock.Net answering 503.
/// </summary>
public sealed class EgwCouncilClientTests(SandboxFixture sandbox) : IClassFixture<SandboxFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Client_RenewsItsTokenBeforeItRunsOut_WithoutARefusedRequest()
    {
        var time = new FakeTimeProvider(Start);
        using var wire = new Wire();
        using var http = CouncilHttpClient.Create(sandbox.Sandbox.GatewayAddress, "leeds", "leeds-sandbox-secret", time, out _, wire);

        (await StatusOfUnknownJobAsync(http)).Should().Be(HttpStatusCode.NotFound, "the token is accepted: the job is unknown");
        time.Advance(TimeSpan.FromMinutes(3));
        (await StatusOfUnknownJobAsync(http)).Should().Be(HttpStatusCode.NotFound);
        wire.TokenRequests.Should().Be(1, "a 5-minute token has more than the margin left after 3 minutes");

        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        (await StatusOfUnknownJobAsync(http)).Should().Be(HttpStatusCode.NotFound);

        wire.TokenRequests.Should().Be(2, "less than a minute was left of the first token");
        wire.Bearers.Distinct().Should().HaveCount(2);
        wire.Statuses.Should().NotContain(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Client_WhoseTokenWasRevoked_TakesANewOneAndSendsTheRequestOnceMore()
    {
        using var wire = new Wire();
        using var http = CouncilHttpClient.Create(sandbox.Sandbox.GatewayAddress, "leeds", "leeds-sandbox-secret", TimeProvider.System, out _, wire);
        (await StatusOfUnknownJobAsync(http)).Should().Be(HttpStatusCode.NotFound);
        var first = wire.Bearers.Single();

        using (var revoke = new HttpRequestMessage(HttpMethod.Post, sandbox.Gateway("/connect/revoke")) { Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = first }) })
        {
            revoke.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("leeds:leeds-sandbox-secret")));
            using var revoked = await sandbox.Http.SendAsync(revoke);
            revoked.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        (await StatusOfUnknownJobAsync(http)).Should().Be(HttpStatusCode.NotFound, "the request is sent again with a new token");

        wire.Statuses.Should().Equal(HttpStatusCode.NotFound, HttpStatusCode.Unauthorized, HttpStatusCode.NotFound);
        wire.Bearers.Should().HaveCount(3);
        wire.Bearers[1].Should().Be(first);
        wire.Bearers[2].Should().NotBe(first);
        wire.TokenRequests.Should().Be(2);
    }

    [Fact]
    public async Task Client_WithRefusedCredentials_SaysSoBeforeSendingAnything()
    {
        using var wire = new Wire();
        using var http = CouncilHttpClient.Create(sandbox.Sandbox.GatewayAddress, "leeds", "not-the-secret", TimeProvider.System, out var credentials, wire);

        var refused = await FluentActions.Awaiting(() => credentials.AcquireAsync(CancellationToken.None)).Should().ThrowAsync<GatewayException>();

        refused.Which.Message.Should().StartWith("the gateway refused the client credentials of 'leeds' (401 invalid_client)").And.NotContain("not-the-secret");
        wire.Statuses.Should().BeEmpty();
    }

    [Fact]
    public async Task Client_MeetingA503_RetriesTokensReadsAndCancellationsHonouringRetryAfter_ButNeverASubmission()
    {
        using var gateway = WireMockServer.Start();
        gateway.Given(WireMockRequest.Create().WithPath("/connect/token").UsingPost()).InScenario("token").WillSetStateTo("issuing")
            .RespondWith(Response.Create().WithStatusCode(503));
        gateway.Given(WireMockRequest.Create().WithPath("/connect/token").UsingPost()).InScenario("token").WhenStateIs("issuing")
            .RespondWith(Response.Create().WithStatusCode(200).WithHeader("Content-Type", "application/json").WithBody("""{"access_token":"t","token_type":"Bearer","expires_in":300}"""));
        gateway.Given(WireMockRequest.Create().WithPath("/v1/bulk-checks/job").UsingGet()).InScenario("read").WillSetStateTo("recovered")
            .RespondWith(Response.Create().WithStatusCode(503).WithHeader("Retry-After", "1"));
        gateway.Given(WireMockRequest.Create().WithPath("/v1/bulk-checks/job").UsingGet()).InScenario("read").WhenStateIs("recovered")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("{}"));
        gateway.Given(WireMockRequest.Create().WithPath("/v1/bulk-checks/job").UsingDelete()).InScenario("cancel").WillSetStateTo("recovered")
            .RespondWith(Response.Create().WithStatusCode(502));
        gateway.Given(WireMockRequest.Create().WithPath("/v1/bulk-checks/job").UsingDelete()).InScenario("cancel").WhenStateIs("recovered")
            .RespondWith(Response.Create().WithStatusCode(200).WithBody("{}"));
        gateway.Given(WireMockRequest.Create().WithPath("/v1/bulk-checks").UsingPost())
            .RespondWith(Response.Create().WithStatusCode(503));
        using var http = CouncilHttpClient.Create(new Uri(gateway.Url!), "leeds", "secret", TimeProvider.System, out _);

        var read = System.Diagnostics.Stopwatch.StartNew();
        using (var status = await http.GetAsync("/v1/bulk-checks/job"))
        {
            status.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        read.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(0.9), "Retry-After: 1 is waited for");
        using (var cancelled = await http.DeleteAsync("/v1/bulk-checks/job"))
        {
            cancelled.StatusCode.Should().Be(HttpStatusCode.OK, "a cancellation is idempotent: cancelling twice changes nothing");
        }

        using (var submitted = await http.PostAsync("/v1/bulk-checks?scheme=free-school-meals", new StringContent("caseReference\r\n", Encoding.UTF8, "text/csv")))
        {
            submitted.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        }

        var sent = gateway.LogEntries.Where(e => e.RequestMessage.Path != "/connect/token").Select(e => e.RequestMessage.Method).ToList();
        sent.Should().Equal("GET", "GET", "DELETE", "DELETE", "POST");
        gateway.LogEntries.Where(e => e.RequestMessage.Path == "/connect/token").Select(e => e.ResponseMessage.StatusCode)
            .Should().Equal([503, 200], "the token endpoint's 503 is retried like the read that needed the token");
    }

    private static async Task<HttpStatusCode> StatusOfUnknownJobAsync(HttpClient http)
    {
        using var response = await http.GetAsync($"/v1/bulk-checks/{Guid.NewGuid()}");
        return response.StatusCode;
    }

    /// <summary>Sends for real and notes what went over the wire: token requests, and each other request's bearer token and answer.</summary>
    private sealed class Wire() : DelegatingHandler(new SocketsHttpHandler())
    {
        private readonly ConcurrentQueue<(string? Bearer, HttpStatusCode Status)> requests = new();
        private int tokenRequests;

        public int TokenRequests => tokenRequests;

        public IReadOnlyList<string> Bearers => requests.Select(r => r.Bearer!).ToList();

        public IReadOnlyList<HttpStatusCode> Statuses => requests.Select(r => r.Status).ToList();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri!.AbsolutePath == "/connect/token")
            {
                Interlocked.Increment(ref tokenRequests);
            }
            else
            {
                requests.Enqueue((request.Headers.Authorization?.Scheme == "Bearer" ? request.Headers.Authorization.Parameter : null, response.StatusCode));
            }

            return response;
        }
    }
}
