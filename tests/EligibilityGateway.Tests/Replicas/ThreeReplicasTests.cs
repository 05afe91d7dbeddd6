using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Audit;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.EndToEnd;
using Xunit.Abstractions;

namespace EligibilityGateway.Tests.Replicas;

/// <summary>
/// The three-replica tests run alone: killing and restarting gateway processes under load keeps both cores busy, and
/// their timings (a revocation within a second) must not be stretched by other classes, nor stretch theirs.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ThreeReplicasCollection
{
    public const string Name = "Three replicas behind HAProxy, alone";
}

/// <summary>
/// Every replica is equal: three gateway processes behind a real load balancer, no stickiness, all state in
/// PostgreSQL and Redis. Each test leaves the three replicas running and UP.
/// </summary>
[Collection(ThreeReplicasCollection.Name)]
public sealed class ThreeReplicasTests(ThreeReplicas replicas, ITestOutputHelper output) : IClassFixture<ThreeReplicas>
{
    private const int Workers = 6;

    private static readonly string[] People = [Subjects.Smith, Subjects.Jones, Subjects.Taylor, Subjects.Brown, Subjects.Khan];

    [Fact]
    public async Task ChecksUnderLoad_WhileAReplicaIsKilled_AreAnsweredByTheOthers_EachWithItsRecord_InOneGapFreeChain_AndTheReplicaRejoins()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var token = await replicas.TokenAsync(http, "leeds", "eligibility.check");
        const int killed = 1;
        var victim = ThreeReplicas.Names[killed];
        var load = new CheckLoad(http, replicas.Address, token);
        load.Start(Workers);
        TimeSpan killedAt = default, restartedAt = default;
        try
        {
            await WaitUntilAsync(() => ThreeReplicas.Names.All(name => load.AnsweredBy(name, after: TimeSpan.Zero) >= 10), TimeSpan.FromSeconds(30), "every replica answers");

            killedAt = load.Elapsed;
            await replicas.Replica(killed).KillAsync();
            await replicas.LoadBalancer.WaitForStatusAsync(victim, "DOWN", TimeSpan.FromSeconds(10));
            var others = ThreeReplicas.Names.Where(name => name != victim).ToList();
            await WaitUntilAsync(() => others.All(name => load.AnsweredBy(name, after: killedAt) >= 30), TimeSpan.FromSeconds(30), "the other replicas keep answering");

            await replicas.RestartAsync(killed);
            restartedAt = load.Elapsed;
            await WaitUntilAsync(() => load.AnsweredBy(victim, after: restartedAt) >= 10, TimeSpan.FromSeconds(30), "the restarted replica answers again");
        }
        finally
        {
            await load.StopAsync();
        }

        load.Unexpected.Should().BeEmpty("every check is answered, or lost at the connection level on the replica killed under it");
        load.Answers.Should().NotContain(a => a.Replica == victim && a.Started > killedAt && a.Finished < restartedAt, "the killed replica answers nothing while it is down");

        // The chain every replica appended to: one sequence, no gap, valid, and a record for every answered check.
        using var auditorHttp = new HttpClient();
        var auditorToken = await replicas.TokenAsync(auditorHttp, "auditor", "audit.read");
        await using var store = replicas.OpenAuditStore();
        var records = await store.ReadAsync(1, int.MaxValue, CancellationToken.None);
        var verification = await AuditVerifier.VerifyAsync(store, new AuditCheckpointVerifier(replicas.PublicAuditKeys), CancellationToken.None);
        var valid = verification.Should().BeOfType<AuditVerification.Valid>(AuditVerification.Describe(verification)).Subject;
        var gaps = records.Zip(records.Skip(1)).Count(pair => pair.Second.Sequence != pair.First.Sequence + 1);
        records.Select(r => r.Sequence).Should().Equal(Enumerable.Range(1, records.Count).Select(n => (long)n), "one gap-free sequence from 1");
        valid.Count.Should().Be(records.Count);

        var checks = records.Where(r => r.Entry.EventType == AuditEventTypes.Check && r.Entry.CaseReference!.StartsWith(CheckLoad.CasePrefix, StringComparison.Ordinal))
            .ToDictionary(r => r.Entry.CheckId!);
        foreach (var answer in load.Answers)
        {
            checks.Should().ContainKey(answer.CheckId, $"check {answer.CheckId} was answered by {answer.Replica}, so it was recorded first");
            checks[answer.CheckId].Sequence.Should().Be(answer.AuditSequence, "the answer names its record");
        }

        // The auditor API, through the load balancer, verifies the same chain.
        using var verifyRequest = new HttpRequestMessage(HttpMethod.Get, new Uri(replicas.Address, "/v1/audit/verify"));
        verifyRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", auditorToken);
        using var verified = await auditorHttp.SendAsync(verifyRequest);
        var verifiedBody = await verified.Content.ReadAsStringAsync();
        verified.StatusCode.Should().Be(HttpStatusCode.OK, verifiedBody);
        JsonDocument.Parse(verifiedBody).RootElement.GetProperty("valid").GetBoolean().Should().BeTrue(verifiedBody);

        var recordedUnanswered = checks.Count - load.Answers.Count;
        output.WriteLine(
            $"checks answered: {load.Answers.Count} ({string.Join(", ", ThreeReplicas.Names.Select(n => $"{n} {load.AnsweredBy(n, TimeSpan.Zero)}"))}); " +
            $"answered while {victim} was down: {load.Answers.Count(a => a.Started > killedAt && a.Finished < restartedAt)}; " +
            $"{victim} after its restart: {load.AnsweredBy(victim, restartedAt)}");
        output.WriteLine(
            $"lost at the connection level: {load.ConnectionFailures} (connection closed by HAProxy without an answer: {load.ConnectionFailures - load.BalancerErrors}, HAProxy's own 502/503/504: {load.BalancerErrors}); " +
            $"checks recorded but not answered (in flight when killed): {recordedUnanswered}");
        output.WriteLine(
            $"audit chain: {records.Count} records ({checks.Count} checks), sequence 1 to {valid.LastSequence}, gaps {gaps}, valid; " +
            $"last checkpoint {valid.LastCheckpoint?.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}");
        output.WriteLine($"{victim} killed at {killedAt.TotalSeconds:F1} s, restarted and UP at {restartedAt.TotalSeconds:F1} s");
        gaps.Should().Be(0);
        recordedUnanswered.Should().BeLessThanOrEqualTo(load.ConnectionFailures, "a check recorded without its answer is one whose replica died under it (HAProxy never sends a check twice)");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan within, string what)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > within)
            {
                throw new TimeoutException($"Not within {within}: {what}.");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Client-credentials checks (public task, the five fixtures in turn) from several concurrent clients through the
    /// load balancer, each answer kept with the replica HAProxy says answered it.
    /// </summary>
    private sealed class CheckLoad(HttpClient http, Uri address, string token)
    {
        /// <summary>The case reference of every check of the load, then its number, so that its records can be told apart.</summary>
        public const string CasePrefix = "UNDER-LOAD-";

        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly CancellationTokenSource stop = new();
        private readonly ConcurrentQueue<Answer> answers = new();
        private readonly ConcurrentQueue<string> unexpected = new();
        private Task[] workers = [];
        private int sent;
        private int connectionFailures;
        private int balancerErrors;

        public TimeSpan Elapsed => clock.Elapsed;

        public IReadOnlyCollection<Answer> Answers => answers;

        /// <summary>Answers that are neither a check answered nor a request lost with the replica under it.</summary>
        public IReadOnlyCollection<string> Unexpected => unexpected;

        /// <summary>Requests whose connection failed between the client and HAProxy, or HAProxy's 502/503/504 when the replica under a request went away.</summary>
        public int ConnectionFailures => connectionFailures + balancerErrors;

        public int BalancerErrors => balancerErrors;

        public int AnsweredBy(string replica, TimeSpan after) => answers.Count(a => a.Replica == replica && a.Started > after);

        public void Start(int count) =>
            workers = Enumerable.Range(0, count).Select(_ => Task.Run(RunAsync)).ToArray();

        public async Task StopAsync()
        {
            await stop.CancelAsync();
            await Task.WhenAll(workers);
            stop.Dispose();
        }

        private async Task RunAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var n = Interlocked.Increment(ref sent);
                var started = clock.Elapsed;
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(address, "/v1/checks"))
                {
                    Content = new StringContent(Subjects.Check(People[n % People.Length], caseReference: CasePrefix + n.ToString(System.Globalization.CultureInfo.InvariantCulture)), Encoding.UTF8, "application/json"),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                try
                {
                    using var response = await http.SendAsync(request);
                    var body = await response.Content.ReadAsStringAsync();
                    var replica = response.Headers.TryGetValues(HaproxyServer.ServerHeader, out var values) ? values.Single() : null;
                    if (response.StatusCode == HttpStatusCode.OK && replica is not null)
                    {
                        var json = JsonDocument.Parse(body).RootElement;
                        answers.Enqueue(new Answer(json.GetProperty("checkId").GetString()!, json.GetProperty("auditSequence").GetInt64(), replica, started, clock.Elapsed));
                    }
                    else if (response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout
                             && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                    {
                        // HAProxy's own error page, not the gateway's problem document: the replica went away under the request.
                        Interlocked.Increment(ref balancerErrors);
                    }
                    else
                    {
                        unexpected.Enqueue($"{(int)response.StatusCode} from {replica ?? "HAProxy"}: {body}");
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref connectionFailures);
                }
            }
        }
    }

    private sealed record Answer(string CheckId, long AuditSequence, string Replica, TimeSpan Started, TimeSpan Finished);
}
