using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EligibilityGateway.Audit;
using EligibilityGateway.Cli;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.BulkChecks;
using EligibilityGateway.Tests.EndToEnd;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.Tokens;
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
public sealed partial class ThreeReplicasTests(ThreeReplicas replicas, ITestOutputHelper output) : IClassFixture<ThreeReplicas>
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
        var load = new CheckLoad(http, replicas.Address, token, "UNDER-LOAD-");
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

        var chain = await VerifyChainAsync(load);
        output.WriteLine(
            $"checks answered: {load.Answers.Count} ({string.Join(", ", ThreeReplicas.Names.Select(n => $"{n} {load.AnsweredBy(n, TimeSpan.Zero)}"))}); " +
            $"answered while {victim} was down: {load.Answers.Count(a => a.Started > killedAt && a.Finished < restartedAt)}; " +
            $"{victim} after its restart: {load.AnsweredBy(victim, restartedAt)}");
        output.WriteLine(
            $"lost at the connection level: {load.ConnectionFailures} (connection closed by HAProxy without an answer: {load.ConnectionFailures - load.BalancerErrors}, HAProxy's own 502/503/504: {load.BalancerErrors}); " +
            $"checks recorded but not answered (in flight when killed): {chain.RecordedUnanswered}");
        output.WriteLine(chain.Summary);
        output.WriteLine($"{victim} killed at {killedAt.TotalSeconds:F1} s, restarted and UP at {restartedAt.TotalSeconds:F1} s");
        chain.RecordedUnanswered.Should().BeLessThanOrEqualTo(load.ConnectionFailures, "a check recorded without its answer is one whose replica died under it (HAProxy never sends a check twice)");
    }

    [Fact]
    public async Task ChecksUnderLoad_WhileAReplicaIsStoppedWithSigterm_AreAllAnswered_EachWithItsRecord_AndNoneIsLost()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var token = await replicas.TokenAsync(http, "leeds", "eligibility.check");
        const int stopped = 2;
        var victim = ThreeReplicas.Names[stopped];
        var load = new CheckLoad(http, replicas.Address, token, "DRAINED-");
        load.Start(Workers);
        TimeSpan signalledAt = default, downAt = default, exitedAt = default, restartedAt = default;
        var runningWhenTakenOut = false;
        int exitCode;
        try
        {
            await WaitUntilAsync(() => ThreeReplicas.Names.All(name => load.AnsweredBy(name, after: TimeSpan.Zero) >= 10), TimeSpan.FromSeconds(30), "every replica answers");

            // Readiness fails first; HAProxy's health check takes the replica out while it still answers, and only
            // then (Shutdown:ReadinessDelay) does it close its listeners and drain.
            signalledAt = load.Elapsed;
            var terminating = replicas.Replica(stopped).TerminateAsync(TimeSpan.FromSeconds(30));
            await replicas.LoadBalancer.WaitForStatusAsync(victim, "DOWN", TimeSpan.FromSeconds(10));
            downAt = load.Elapsed;
            runningWhenTakenOut = !replicas.Replica(stopped).HasExited;
            exitCode = await terminating;
            exitedAt = load.Elapsed;
            var others = ThreeReplicas.Names.Where(name => name != victim).ToList();
            await WaitUntilAsync(() => others.All(name => load.AnsweredBy(name, after: exitedAt) >= 30), TimeSpan.FromSeconds(30), "the other replicas keep answering");

            await replicas.RestartAsync(stopped);
            restartedAt = load.Elapsed;
            await WaitUntilAsync(() => load.AnsweredBy(victim, after: restartedAt) >= 10, TimeSpan.FromSeconds(30), "the restarted replica answers again");
        }
        finally
        {
            await load.StopAsync();
        }

        var chain = await VerifyChainAsync(load);
        output.WriteLine(
            $"checks answered: {load.Answers.Count} ({string.Join(", ", ThreeReplicas.Names.Select(n => $"{n} {load.AnsweredBy(n, TimeSpan.Zero)}"))}); " +
            $"{victim} answered {load.Answers.Count(a => a.Replica == victim && a.Started < exitedAt && a.Finished > signalledAt)} checks in flight at SIGTERM or after it");
        output.WriteLine(
            $"lost: {load.ConnectionFailures}; checks recorded but not answered: {chain.RecordedUnanswered}; HAProxy took {victim} out {(downAt - signalledAt).TotalSeconds:F2} s " +
            $"after SIGTERM; it exited with {exitCode} {(exitedAt - signalledAt).TotalSeconds:F2} s after SIGTERM");
        output.WriteLine(chain.Summary);

        runningWhenTakenOut.Should().BeTrue("readiness fails first, so the load balancer takes the replica out before it stops answering");
        exitCode.Should().Be(0, "SIGTERM is an orderly stop");
        load.Unexpected.Should().BeEmpty();
        load.ConnectionFailures.Should().Be(0, "a replica stopped with SIGTERM is out of HAProxy's rotation before its listeners close, and finishes every check it accepted");
        chain.RecordedUnanswered.Should().Be(0, "every recorded check was answered");
    }

    [Fact]
    public async Task WholeConsentFlow_WithEachRequestOnAnotherReplica_AuthorisesChecksRefreshesAndRevokes()
    {
        var hops = new List<Hop>();
        using var flow = new ConsentFlow(replicas.Address, hops);

        var consentId = await flow.CreateConsentAsync();
        var (code, verifier) = await flow.AuthoriseAsync(consentId);
        var (accessToken, refreshToken) = await flow.ExchangeAsync(code, verifier);

        using (var check = await flow.CheckAsync(accessToken))
        {
            var body = await check.Content.ReadAsStringAsync();
            check.StatusCode.Should().Be(HttpStatusCode.OK, body);
            JsonDocument.Parse(body).RootElement.GetProperty("consentId").GetString().Should().Be(consentId);
        }

        var (refreshedAccess, _) = await flow.RefreshAsync(refreshToken);
        using (var check = await flow.CheckAsync(refreshedAccess))
        {
            check.StatusCode.Should().Be(HttpStatusCode.OK, await check.Content.ReadAsStringAsync());
        }

        var account = await flow.AccountAsync();
        account.Should().Contain(consentId, "the citizen's account lists the consent, on whichever replica serves it");
        await flow.RevokeAsCitizenAsync(consentId);

        using (var refused = await flow.CheckAsync(refreshedAccess))
        {
            var body = await refused.Content.ReadAsStringAsync();
            refused.StatusCode.Should().BeOneOf([HttpStatusCode.Conflict, HttpStatusCode.Unauthorized], body);
        }

        output.WriteLine(string.Join("\n", hops.Select(h => $"{h.Replica}  {h.Status}  {h.Request}")));
        hops.Should().HaveCountGreaterThan(12);
        hops.Zip(hops.Skip(1)).Should().OnlyContain(pair => pair.First.Replica != pair.Second.Replica, "round-robin without stickiness sends each request to the next replica");
        hops.Select(h => h.Replica).Distinct().Should().BeEquivalentTo(ThreeReplicas.Names);
    }

    [Fact]
    public async Task ConsentRevokedThroughOneReplica_IsRefusedByTheOtherTwo_WithinOneSecond()
    {
        var hops = new List<Hop>();
        using var flow = new ConsentFlow(replicas.Address, hops);
        var consentId = await flow.CreateConsentAsync();
        var (code, verifier) = await flow.AuthoriseAsync(consentId);
        var (accessToken, _) = await flow.ExchangeAsync(code, verifier);

        // Every replica, asked directly, answers under the consent (and holds the answer in the cache).
        var addresses = ThreeReplicas.Names.Select((_, i) => replicas.Replica(i).Address).ToArray();
        foreach (var address in addresses)
        {
            using var check = await flow.CheckAsync(accessToken, address);
            check.StatusCode.Should().Be(HttpStatusCode.OK, await check.Content.ReadAsStringAsync());
        }

        // The council withdraws the consent through the first replica; the other two are asked until they refuse.
        using var council = new HttpClient();
        var manage = await replicas.TokenAsync(council, "leeds", "consents.manage");
        using var revoke = new HttpRequestMessage(HttpMethod.Delete, new Uri(addresses[0], "/v1/consents/" + consentId));
        revoke.Headers.Authorization = new AuthenticationHeaderValue("Bearer", manage);
        using var revoked = await council.SendAsync(revoke);
        var revokedAt = Stopwatch.StartNew();
        revoked.StatusCode.Should().Be(HttpStatusCode.OK, await revoked.Content.ReadAsStringAsync());

        var refusedAfter = await Task.WhenAll(addresses.Skip(1).Select(async address =>
        {
            while (true)
            {
                using var check = await flow.CheckAsync(accessToken, address);
                if (check.StatusCode != HttpStatusCode.OK)
                {
                    var elapsed = revokedAt.Elapsed;
                    var body = await check.Content.ReadAsStringAsync();

                    // 409 consent-not-usable from the consent store, or 401 once the consent's tokens are inactive.
                    check.StatusCode.Should().BeOneOf([HttpStatusCode.Conflict, HttpStatusCode.Unauthorized], body);
                    return (Elapsed: elapsed, Status: check.StatusCode);
                }

                if (revokedAt.Elapsed > TimeSpan.FromSeconds(5))
                {
                    return (Elapsed: revokedAt.Elapsed, Status: check.StatusCode);
                }
            }
        }));

        output.WriteLine(
            $"revocation through {ThreeReplicas.Names[0]}: the first check after it refused on {ThreeReplicas.Names[1]} after {refusedAfter[0].Elapsed.TotalMilliseconds:F1} ms ({(int)refusedAfter[0].Status}), " +
            $"on {ThreeReplicas.Names[2]} after {refusedAfter[1].Elapsed.TotalMilliseconds:F1} ms ({(int)refusedAfter[1].Status})");
        refusedAfter.Should().OnlyContain(r => r.Status != HttpStatusCode.OK && r.Elapsed < TimeSpan.FromSeconds(1), "a revocation reaches every replica within a second");
    }

    [Fact]
    public async Task BulkCheckSubmittedThroughTheLoadBalancer_IsReadExportedAndCancelledThroughEveryReplica_AndCompletes()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var token = await replicas.TokenAsync(http, "leeds", "eligibility.check");
        var camden = await replicas.TokenAsync(http, "camden", "eligibility.check");
        const int items = 300;
        var clock = Stopwatch.StartNew();

        var id = await SubmitBulkAsync(http, replicas.Address, token, BulkHttp.SyntheticJson(items, "REPLICAS", first: 70_000));
        for (var i = 0; i < ThreeReplicas.Names.Length; i++)
        {
            using var status = await BulkHttp.SendAsync(http, replicas.Replica(i).Address, token, HttpMethod.Get, $"/v1/bulk-checks/{id}");
            status.StatusCode.Should().Be(HttpStatusCode.OK, $"{ThreeReplicas.Names[i]} reads a job submitted through the load balancer at once");
            using var foreign = await BulkHttp.SendAsync(http, replicas.Replica(i).Address, camden, HttpMethod.Get, $"/v1/bulk-checks/{id}");
            foreign.StatusCode.Should().Be(HttpStatusCode.NotFound, "another council's job is not found on any replica");
        }

        using var done = await BulkHttp.WaitForAsync(http, replicas.Address, token, id, s => s.GetProperty("status").GetString() == "completed", TimeSpan.FromSeconds(60));
        var completedIn = clock.Elapsed;
        done.RootElement.GetProperty("completed").GetInt32().Should().Be(items);

        // The rows a page at a time, each page from the next replica: one walk, every row once, every row completed.
        var rows = new List<JsonElement>();
        string? cursor = null;
        var page = 0;
        do
        {
            var replica = replicas.Replica(page++ % ThreeReplicas.Names.Length).Address;
            using var response = await BulkHttp.SendAsync(http, replica, token, HttpMethod.Get, $"/v1/bulk-checks/{id}/results?limit=40" + (cursor is null ? "" : $"&cursor={cursor}"));
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            rows.AddRange(body.GetProperty("results").EnumerateArray());
            cursor = body.GetProperty("next").ValueKind == JsonValueKind.String ? body.GetProperty("next").GetString() : null;
        }
        while (cursor is not null);
        rows.Select(r => r.GetProperty("row").GetInt32()).Should().Equal(Enumerable.Range(1, items));
        rows.Should().OnlyContain(r => r.GetProperty("status").GetString() == "completed");
        for (var i = 0; i < ThreeReplicas.Names.Length; i++)
        {
            using var export = await BulkHttp.SendAsync(http, replicas.Replica(i).Address, token, HttpMethod.Get, $"/v1/bulk-checks/{id}/export?format=csv");
            export.StatusCode.Should().Be(HttpStatusCode.OK);
            (await export.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Should().HaveCount(items + 1, $"{ThreeReplicas.Names[i]} exports every row");
        }

        var perCheck = await AuditRecordsPerCheckIdAsync(rows.Select(r => r.GetProperty("checkId").GetString()!));
        perCheck.Values.Should().OnlyContain(n => n == 1, "every item has its one audit record in the shared log");

        // Cancelled through a replica that is not running it: the runner hears of it at its next renewal and stops.
        await SetHomeOfficeLatencyAsync(http, 300);
        try
        {
            var slow = await SubmitBulkAsync(http, replicas.Address, token, BulkHttp.SyntheticJson(2000, "REPLICAS-CANCEL", nass: true, first: 72_000));
            var runner = await LeaseHolderAsync(slow, TimeSpan.FromSeconds(10));
            var other = (runner + 1) % ThreeReplicas.Names.Length;
            using (var started = await BulkHttp.WaitForAsync(http, replicas.Replica(other).Address, token, slow, s => s.GetProperty("completed").GetInt32() > 0))
            {
            }

            using var cancel = await BulkHttp.SendAsync(http, replicas.Replica(other).Address, token, HttpMethod.Delete, $"/v1/bulk-checks/{slow}");
            cancel.StatusCode.Should().Be(HttpStatusCode.OK);
            var cancelledAt = clock.Elapsed;
            using var settled = await BulkHttp.WaitForAsync(http, replicas.Replica(runner).Address, token, slow,
                s => s.GetProperty("status").GetString() == "cancelled" && s.GetProperty("pending").GetInt32() == 0, TimeSpan.FromSeconds(30));
            var settledIn = clock.Elapsed - cancelledAt;
            var (completed, cancelled) = (settled.RootElement.GetProperty("completed").GetInt32(), settled.RootElement.GetProperty("cancelled").GetInt32());
            (completed + cancelled).Should().Be(2000);
            cancelled.Should().BeGreaterThan(1000, "the runner stopped taking items");
            while (await LeaseHolderOrNoneAsync(slow) >= 0)
            {
                (clock.Elapsed - cancelledAt).Should().BeLessThan(TimeSpan.FromSeconds(10), "the runner releases the cancelled job");
                await Task.Delay(50);
            }

            output.WriteLine(
                $"bulk job of {items} items submitted through HAProxy: read on all three replicas at once, completed in {completedIn.TotalSeconds:F1} s, " +
                $"{rows.Count} rows paged across the replicas, exported by each; a 2,000-item job run by {ThreeReplicas.Names[runner]} and cancelled " +
                $"through {ThreeReplicas.Names[other]} settled in {settledIn.TotalSeconds:F1} s ({completed} completed, {cancelled} cancelled)");
        }
        finally
        {
            await SetHomeOfficeLatencyAsync(http, 0);
        }
    }

    [Fact]
    public async Task BulkCheck_WhenTheReplicaRunningItIsKilled_IsFinishedByAnother_WithOneAuditRecordPerItem_AndNoneLost()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var token = await replicas.TokenAsync(http, "leeds", "eligibility.check");
        const int items = 1000;
        await SetHomeOfficeLatencyAsync(http, 200);
        var callsBefore = await HomeOfficeCallsAsync(http);
        int holder = -1;
        try
        {
            var id = await SubmitBulkAsync(http, replicas.Address, token, BulkHttp.SyntheticJson(items, "REPLICAS-RESUME", nass: true, first: 80_000));
            holder = await LeaseHolderAsync(id, TimeSpan.FromSeconds(10));
            var survivor = replicas.Replica((holder + 1) % ThreeReplicas.Names.Length).Address;
            using (var partly = await BulkHttp.WaitForAsync(http, survivor, token, id, s => s.GetProperty("completed").GetInt32() >= 100))
            {
            }

            var clock = Stopwatch.StartNew();
            await replicas.Replica(holder).KillAsync();
            var completedAtKill = await CompletedAsync(http, survivor, token, id);
            int next;
            while ((next = await LeaseHolderOrNoneAsync(id)) is -1 || next == holder)
            {
                clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(15), "another replica takes the job once the killed one's lease expires");
                await Task.Delay(20);
            }

            var resumedAfter = clock.Elapsed;
            using var done = await BulkHttp.WaitForAsync(http, survivor, token, id, s => s.GetProperty("status").GetString() == "completed", TimeSpan.FromSeconds(90));
            var finishedAfter = clock.Elapsed;

            done.RootElement.GetProperty("completed").GetInt32().Should().Be(items, "no item is lost");
            done.RootElement.GetProperty("pending").GetInt32().Should().Be(0);
            var rows = await BulkHttp.AllResultsAsync(http, survivor, token, id, pageSize: 1000);
            rows.Should().HaveCount(items).And.OnlyContain(r => r.GetProperty("status").GetString() == "completed");
            var perCheck = await AuditRecordsPerCheckIdAsync(rows.Select(r => r.GetProperty("checkId").GetString()!));
            perCheck.Should().HaveCount(items);
            perCheck.Values.Should().OnlyContain(n => n == 1, "every item is recorded exactly once, across the kill");

            // At the provider: every item once, plus at most the items in flight when the replica died (their answers
            // were never recorded nor released), which that replica's bulk share of 64 − 2 bounds.
            var calls = await HomeOfficeCallsAsync(http) - callsBefore;
            calls.Should().BeGreaterThanOrEqualTo(items).And.BeLessThanOrEqualTo(items + 62);
            var resumed = ResumedLine().Match(replicas.Replica(next).Output);
            resumed.Success.Should().BeTrue($"{ThreeReplicas.Names[next]} settles what {ThreeReplicas.Names[holder]} had claimed");
            output.WriteLine(
                $"bulk job of {items} items (Home Office at 200 ms): {ThreeReplicas.Names[holder]} killed with SIGKILL at {completedAtKill} completed; " +
                $"{ThreeReplicas.Names[next]} took the lease {resumedAfter.TotalSeconds:F2} s after the kill (lease 2 s) and finished the job " +
                $"{finishedAfter.TotalSeconds:F1} s after it; items claimed by the dead replica: {resumed.Groups[1].Value} settled from their audit records, " +
                $"{resumed.Groups[2].Value} claimed but never recorded, so checked by the new holder; audit records: {perCheck.Values.Sum()} for {items} items; Home Office calls: {calls}");
        }
        finally
        {
            await SetHomeOfficeLatencyAsync(http, 0);
            if (holder >= 0 && replicas.Replica(holder).HasExited)
            {
                await replicas.RestartAsync(holder);
            }
        }
    }

    [GeneratedRegex(@"resumed: (\d+) items settled from their audit records, (\d+) to check again")]
    private static partial Regex ResumedLine();

    private static async Task<string> SubmitBulkAsync(HttpClient http, Uri gateway, string token, string body)
    {
        using var accepted = await BulkHttp.SubmitAsync(http, gateway, token, body, "application/json");
        var text = await accepted.Content.ReadAsStringAsync();
        accepted.StatusCode.Should().Be(HttpStatusCode.Accepted, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("bulkCheckId").GetString()!;
    }

    private static async Task<int> CompletedAsync(HttpClient http, Uri gateway, string token, string id)
    {
        using var response = await BulkHttp.SendAsync(http, gateway, token, HttpMethod.Get, $"/v1/bulk-checks/{id}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("completed").GetInt32();
    }

    /// <summary>The replica whose process holds the job's lease (the owner is <c>host/pid/random</c>), waiting up to <paramref name="within"/>.</summary>
    private async Task<int> LeaseHolderAsync(string jobId, TimeSpan within)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            if (await LeaseHolderOrNoneAsync(jobId) is var index and >= 0)
            {
                return index;
            }

            if (waited.Elapsed >= within)
            {
                throw new TimeoutException($"No replica holds the lease of bulk check {jobId}.");
            }

            await Task.Delay(20);
        }
    }

    private async Task<int> LeaseHolderOrNoneAsync(string jobId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(replicas.BulkChecksConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT lease_owner FROM bulk_jobs WHERE job_id = $1;", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = jobId });
        if (await command.ExecuteScalarAsync() is not string owner)
        {
            return -1;
        }

        var pid = int.Parse(owner.Split('/')[1], System.Globalization.CultureInfo.InvariantCulture);
        return Enumerable.Range(0, ThreeReplicas.Names.Length).Single(i => replicas.Replica(i).Id == pid);
    }

    /// <summary>How many check records of the shared audit log carry each of <paramref name="checkIds"/> (absent: none).</summary>
    private async Task<Dictionary<string, int>> AuditRecordsPerCheckIdAsync(IEnumerable<string> checkIds)
    {
        await using var connection = new Npgsql.NpgsqlConnection(replicas.AuditConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT check_id, count(*)::integer FROM audit_records WHERE check_id = ANY ($1) GROUP BY check_id;", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter<string[]> { TypedValue = [.. checkIds] });
        var counts = new Dictionary<string, int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt32(1);
        }

        return counts;
    }

    private async Task SetHomeOfficeLatencyAsync(HttpClient http, int milliseconds)
    {
        using var response = await http.PutAsJsonAsync(new Uri(replicas.MockAddress, "/_control/providers/home-office"), new { latencyMilliseconds = milliseconds });
        response.EnsureSuccessStatusCode();
    }

    private async Task<long> HomeOfficeCallsAsync(HttpClient http)
    {
        using var meter = JsonDocument.Parse(await http.GetStringAsync(new Uri(replicas.MockAddress, "/_control/concurrency")));
        return meter.RootElement.GetProperty("providers").EnumerateArray().Single(p => p.GetProperty("provider").GetString() == "home-office").GetProperty("calls").GetInt64();
    }

    /// <summary>
    /// The chain every replica appended to: one sequence from 1, no gap, valid by the gateway's verifier and by the
    /// auditor API through the load balancer, and the record of every check <paramref name="load"/> was answered,
    /// at the sequence the answer named.
    /// </summary>
    private async Task<ChainFigures> VerifyChainAsync(CheckLoad load)
    {
        using var auditorHttp = new HttpClient();
        var auditorToken = await replicas.TokenAsync(auditorHttp, "auditor", "audit.read");
        await using var store = replicas.OpenAuditStore();
        var records = await store.ReadAsync(1, int.MaxValue, CancellationToken.None);
        var verification = await AuditVerifier.VerifyAsync(store, new AuditCheckpointVerifier(replicas.PublicAuditKeys), CancellationToken.None);
        var valid = verification.Should().BeOfType<AuditVerification.Valid>(AuditVerification.Describe(verification)).Subject;
        var gaps = records.Zip(records.Skip(1)).Count(pair => pair.Second.Sequence != pair.First.Sequence + 1);
        records.Select(r => r.Sequence).Should().Equal(Enumerable.Range(1, records.Count).Select(n => (long)n), "one gap-free sequence from 1");
        valid.Count.Should().Be(records.Count);

        var checks = records.Where(r => r.Entry.EventType == AuditEventTypes.Check && r.Entry.CaseReference!.StartsWith(load.CasePrefix, StringComparison.Ordinal))
            .ToDictionary(r => r.Entry.CheckId!);
        foreach (var answer in load.Answers)
        {
            checks.Should().ContainKey(answer.CheckId, $"check {answer.CheckId} was answered by {answer.Replica}, so it was recorded first");
            checks[answer.CheckId].Sequence.Should().Be(answer.AuditSequence, "the answer names its record");
        }

        using var verifyRequest = new HttpRequestMessage(HttpMethod.Get, new Uri(replicas.Address, "/v1/audit/verify"));
        verifyRequest.Headers.Authorization = new AuthenticationHeaderValue("Bearer", auditorToken);
        using var verified = await auditorHttp.SendAsync(verifyRequest);
        var verifiedBody = await verified.Content.ReadAsStringAsync();
        verified.StatusCode.Should().Be(HttpStatusCode.OK, verifiedBody);
        JsonDocument.Parse(verifiedBody).RootElement.GetProperty("valid").GetBoolean().Should().BeTrue(verifiedBody);

        // And egw, as an operator verifies the database (or a restored backup of it) against the published keys.
        var jwks = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(jwks, replicas.PublicAuditKeys);
            using var egwOutput = new StringWriter();
            using var egwError = new StringWriter();
            var exitCode = await EgwCommandLine.RunAsync(
                ["audit", "verify", "--postgres", replicas.AuditConnectionString, "--jwks", jwks],
                new EgwConsole(egwOutput, egwError, () => Stream.Null),
                CancellationToken.None);
            exitCode.Should().Be(EgwCommandLine.Ok, egwOutput.ToString() + egwError);
            egwOutput.ToString().Should().StartWith("valid: ");
        }
        finally
        {
            File.Delete(jwks);
        }

        return new ChainFigures(
            checks.Count - load.Answers.Count,
            $"audit chain: {records.Count} records ({checks.Count} checks of this test), sequence 1 to {valid.LastSequence}, gaps {gaps}, valid " +
            $"(the gateway's verifier, GET /v1/audit/verify and egw audit verify --postgres); last checkpoint {valid.LastCheckpoint?.Sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}");
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
    private sealed class CheckLoad(HttpClient http, Uri address, string token, string casePrefix)
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private readonly CancellationTokenSource stop = new();
        private readonly ConcurrentQueue<Answer> answers = new();
        private readonly ConcurrentQueue<string> unexpected = new();
        private Task[] workers = [];
        private int sent;
        private int connectionFailures;
        private int balancerErrors;

        public TimeSpan Elapsed => clock.Elapsed;

        /// <summary>The case reference of every check of the load, then its number, so that its records can be told apart.</summary>
        public string CasePrefix => casePrefix;

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

    /// <summary>One request through the load balancer: what was asked, what came back, and which replica answered.</summary>
    private sealed record Hop(string Request, int Status, string Replica);

    /// <summary>Records, in order, which replica HAProxy sent each request to (its <see cref="HaproxyServer.ServerHeader"/>).</summary>
    private sealed class HopRecorder(List<Hop> hops, CookieContainer? cookies = null)
        : DelegatingHandler(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = cookies is not null, CookieContainer = cookies ?? new CookieContainer() })
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (response.Headers.TryGetValues(HaproxyServer.ServerHeader, out var values))
            {
                lock (hops)
                {
                    hops.Add(new Hop($"{request.Method} {request.RequestUri!.AbsolutePath}", (int)response.StatusCode, values.Single()));
                }
            }

            return response;
        }
    }

    /// <summary>
    /// A council (Leeds, <c>client_secret_basic</c>) and a citizen's browser (Smith, cookies kept, redirects not
    /// followed so that each hop is one request) through the consent flow, by default through the load balancer.
    /// </summary>
    private sealed partial class ConsentFlow : IDisposable
    {
        private const string RedirectUri = "http://127.0.0.1:8080/demo/callback";

        private readonly Uri address;
        private readonly HttpClient council;
        private readonly HttpClient browser;
        private readonly CookieContainer cookies = new();

        public ConsentFlow(Uri address, List<Hop> hops)
        {
            this.address = address;
            council = new HttpClient(new HopRecorder(hops)) { BaseAddress = address };
            browser = new HttpClient(new HopRecorder(hops, cookies)) { BaseAddress = address };
        }

        public async Task<string> CreateConsentAsync()
        {
            var token = await ClientTokenAsync("consents.manage");
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/consents")
            {
                Content = new StringContent("""{"scheme":"free-school-meals","caseReference":"FSM-THREE-REPLICAS"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var created = await council.SendAsync(request);
            var body = await created.Content.ReadAsStringAsync();
            created.StatusCode.Should().Be(HttpStatusCode.Created, body);
            return JsonDocument.Parse(body).RootElement.GetProperty("consentId").GetString()!;
        }

        /// <summary>PAR, then the browser: authorize, sign in, the consent page, Allow, back to the council with the code.</summary>
        public async Task<(string Code, string Verifier)> AuthoriseAsync(string consentId)
        {
            var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
            using var pushed = await PostAsClientAsync("/connect/par", new Dictionary<string, string>
            {
                ["response_type"] = "code",
                ["client_id"] = "leeds",
                ["redirect_uri"] = RedirectUri,
                ["scope"] = "eligibility.check",
                ["state"] = "state-" + consentId,
                ["code_challenge"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))),
                ["code_challenge_method"] = "S256",
                ["authorization_details"] = $$"""[{"type":"eligibility-check","consent_id":"{{consentId}}"}]""",
            });
            var pushedBody = await pushed.Content.ReadAsStringAsync();
            pushed.StatusCode.Should().Be(HttpStatusCode.Created, pushedBody);
            var requestUri = JsonDocument.Parse(pushedBody).RootElement.GetProperty("request_uri").GetString()!;
            var authorizePath = $"/connect/authorize?client_id=leeds&request_uri={Uri.EscapeDataString(requestUri)}";

            using (var unsigned = await browser.GetAsync(authorizePath))
            {
                unsigned.StatusCode.Should().Be(HttpStatusCode.Redirect);
                var signIn = new Uri(address, unsigned.Headers.Location!);
                signIn.GetLeftPart(UriPartial.Authority).Should().Be(address.GetLeftPart(UriPartial.Authority), "absolute addresses come from the issuer, the load balancer");
                signIn.PathAndQuery.Should().StartWith("/sign-in?returnUrl=");
            }

            using (var signedIn = await browser.PostAsync("/sign-in", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = await FormTokenAsync("/sign-in?returnUrl=" + Uri.EscapeDataString(authorizePath)),
                ["username"] = "smith",
                ["password"] = "sandbox",
                ["returnUrl"] = authorizePath,
            })))
            {
                signedIn.StatusCode.Should().Be(HttpStatusCode.Redirect, await signedIn.Content.ReadAsStringAsync());
            }

            var query = QueryHelpers.ParseQuery(new Uri(address, authorizePath).Query);
            using var allowed = await browser.PostAsync(authorizePath, new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = await FormTokenAsync(authorizePath),
                ["client_id"] = query["client_id"].ToString(),
                ["request_uri"] = query["request_uri"].ToString(),
                ["decision"] = "allow",
            }));
            allowed.StatusCode.Should().Be(HttpStatusCode.SeeOther, await allowed.Content.ReadAsStringAsync());
            using var toCouncil = await browser.GetAsync(allowed.Headers.Location);
            toCouncil.StatusCode.Should().Be(HttpStatusCode.Redirect, await toCouncil.Content.ReadAsStringAsync());
            var callback = QueryHelpers.ParseQuery(toCouncil.Headers.Location!.Query);
            callback["state"].ToString().Should().Be("state-" + consentId);
            return (callback["code"].ToString(), verifier);
        }

        public Task<(string AccessToken, string RefreshToken)> ExchangeAsync(string code, string verifier) =>
            TokensAsync(new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code",
                ["code"] = code,
                ["redirect_uri"] = RedirectUri,
                ["code_verifier"] = verifier,
            });

        public Task<(string AccessToken, string RefreshToken)> RefreshAsync(string refreshToken) =>
            TokensAsync(new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken });

        /// <summary>A check under the consent's token, through the load balancer or at <paramref name="replica"/> directly.</summary>
        public Task<HttpResponseMessage> CheckAsync(string accessToken, Uri? replica = null)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, new Uri(replica ?? address, "/v1/checks"))
            {
                Content = new StringContent("""{"scheme":"free-school-meals","caseReference":"FSM-THREE-REPLICAS"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            return council.SendAsync(request);
        }

        /// <summary>The citizen's account page, decoded.</summary>
        public async Task<string> AccountAsync()
        {
            using var response = await browser.GetAsync("/account");
            var html = await response.Content.ReadAsStringAsync();
            response.StatusCode.Should().Be(HttpStatusCode.OK, html);
            return WebUtility.HtmlDecode(html);
        }

        /// <summary>Presses Revoke on the account page for <paramref name="consentId"/>, then reads the confirmation.</summary>
        public async Task RevokeAsCitizenAsync(string consentId)
        {
            using var revoked = await browser.PostAsync("/account?handler=Revoke", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["__RequestVerificationToken"] = await FormTokenAsync("/account"),
                ["consentId"] = consentId,
            }));
            revoked.StatusCode.Should().Be(HttpStatusCode.Redirect, await revoked.Content.ReadAsStringAsync());
            revoked.Headers.Location!.ToString().Should().Be("/account?revoked=" + consentId);
            using var confirmation = await browser.GetAsync(revoked.Headers.Location);
            confirmation.StatusCode.Should().Be(HttpStatusCode.OK);
        }

        public void Dispose()
        {
            council.Dispose();
            browser.Dispose();
        }

        private async Task<string> ClientTokenAsync(string scope)
        {
            using var response = await PostAsClientAsync("/connect/token", new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["scope"] = scope });
            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.Should().Be(HttpStatusCode.OK, body);
            return JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
        }

        private async Task<(string AccessToken, string RefreshToken)> TokensAsync(Dictionary<string, string> form)
        {
            using var response = await PostAsClientAsync("/connect/token", form);
            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.Should().Be(HttpStatusCode.OK, body);
            var json = JsonDocument.Parse(body).RootElement;
            return (json.GetProperty("access_token").GetString()!, json.GetProperty("refresh_token").GetString()!);
        }

        private Task<HttpResponseMessage> PostAsClientAsync(string path, Dictionary<string, string> form)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("leeds:leeds-sandbox-secret"u8));
            return council.SendAsync(request);
        }

        private async Task<string> FormTokenAsync(string path)
        {
            using var response = await browser.GetAsync(path);
            var html = await response.Content.ReadAsStringAsync();
            response.StatusCode.Should().Be(HttpStatusCode.OK, html);
            var match = TokenPattern().Match(html);
            match.Success.Should().BeTrue("the form carries an antiforgery token");
            return WebUtility.HtmlDecode(match.Groups[1].Value);
        }

        [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
        private static partial Regex TokenPattern();
    }

    private sealed record ChainFigures(int RecordedUnanswered, string Summary);

    private sealed record Answer(string CheckId, long AuditSequence, string Replica, TimeSpan Started, TimeSpan Finished);
}
