using System.Net;
using System.Text.Json;
using EligibilityGateway.BulkChecks;
using EligibilityGateway.Testing;
using EligibilityGateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Tests.BulkChecks;

/// <summary>
/// A job store that refuses results (README.md, "Running a job"): the processor retries a batch, then gives it up and
/// leaves its items claimed; the job is handed back rather than left running, and the next lease settles those items
/// from their audit records. Every item ends with a result, one audit record, and one question to the provider.
/// </summary>
public sealed class BulkCheckResultsWriterTests() : OwnMockBulkTest("egw-bulk-writer-")
{
    private const int Items = 40;

    /// <summary>One batch's every attempt (the processor tries a batch ten times before giving it up).</summary>
    private const int RefusedWrites = 10;

    [Fact]
    public async Task BulkCheck_ResultsWriterGivesUpOnABatch_JobIsHandedBackAndItsItemsSettledFromTheAuditLogWithoutAskingAgain()
    {
        RefusingResultsStore? store = null;
        var settings = new Dictionary<string, string?>
        {
            ["BulkChecks:LeaseDuration"] = "00:00:02",
            ["BulkChecks:PollInterval"] = "00:00:00.2",
        };
        await using var app = TestGateway.Build(DataDirectory, settings, builder =>
        {
            var original = builder.Services.Single(d => d.ServiceType == typeof(IBulkCheckStore));
            builder.Services.Remove(original);
            builder.Services.AddSingleton<IBulkCheckStore>(services =>
                store = new RefusingResultsStore((IBulkCheckStore)original.ImplementationFactory!(services), RefusedWrites));
        }, Mock.Address);
        var gateway = await app.StartOnFreePortAsync();
        using (var reset = await Http.DeleteAsync(new Uri(Mock.Address, "/_control/concurrency")))
        {
            reset.EnsureSuccessStatusCode();
        }

        var token = await SandboxClients.TokenAsync(Http, gateway);
        using var accepted = await BulkHttp.SubmitAsync(Http, gateway, token, BulkHttp.SyntheticJson(Items, "WRITER", nass: true, first: 70_000), "application/json");
        accepted.StatusCode.Should().Be(HttpStatusCode.Accepted);
        using var submitted = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync());
        var id = submitted.RootElement.GetProperty("bulkCheckId").GetString()!;

        using var done = await BulkHttp.WaitForAsync(Http, gateway, token, id, s => s.GetProperty("status").GetString() == "completed", TimeSpan.FromSeconds(60));

        store!.Refused.Should().Be(RefusedWrites, "the first batch was refused on every attempt");
        store.Leases(id).Should().BeGreaterThanOrEqualTo(2, "the job was handed back and leased again, not left running");
        done.RootElement.GetProperty("completed").GetInt32().Should().Be(Items, "no item is lost");
        done.RootElement.GetProperty("pending").GetInt32().Should().Be(0);
        var rows = await BulkHttp.AllResultsAsync(Http, gateway, token, id, pageSize: 100);
        rows.Should().HaveCount(Items);
        rows.Should().AllSatisfy(r => r.GetProperty("outcome").GetString().Should().NotBeNullOrEmpty());
        var perCheck = BulkHttp.AuditRecordsPerCheckId(Path.Combine(DataDirectory, "audit.db"), rows.Select(r => r.GetProperty("checkId").GetString()!));
        perCheck.Should().HaveCount(Items);
        perCheck.Values.Should().AllSatisfy(n => n.Should().Be(1), "an item whose result was not written is settled from its record, not checked again");

        var calls = await ProviderCallsAsync("home-office");
        calls.Should().Be(Items, "each item's provider is asked once");
    }

    /// <summary>The gateway's own store, refusing the first <c>refusals</c> writes of results.</summary>
    private sealed class RefusingResultsStore(IBulkCheckStore inner, int refusals) : IBulkCheckStore
    {
        private readonly Dictionary<string, int> leases = [];
        private int writes;
        private int refused;

        public int Refused => Volatile.Read(ref refused);

        public string Location => inner.Location;

        public int Leases(string jobId)
        {
            lock (leases)
            {
                return leases.GetValueOrDefault(jobId);
            }
        }

        public Task WriteResultsAsync(string jobId, IReadOnlyList<BulkItemResult> results, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref writes) <= refusals)
            {
                Interlocked.Increment(ref refused);
                throw new IOException("The job database refused the write.");
            }

            return inner.WriteResultsAsync(jobId, results, cancellationToken);
        }

        public async Task<BulkJob?> TryLeaseAsync(string owner, DateTimeOffset now, TimeSpan duration, IReadOnlyCollection<string> exclude, CancellationToken cancellationToken)
        {
            var job = await inner.TryLeaseAsync(owner, now, duration, exclude, cancellationToken);
            if (job is not null)
            {
                lock (leases)
                {
                    leases[job.JobId] = leases.GetValueOrDefault(job.JobId) + 1;
                }
            }

            return job;
        }

        public ValueTask InitializeAsync(CancellationToken cancellationToken) => inner.InitializeAsync(cancellationToken);

        public Task CreateAsync(BulkJob job, IReadOnlyList<NewBulkItem> items, CancellationToken cancellationToken) => inner.CreateAsync(job, items, cancellationToken);

        public Task<BulkJob?> FindAsync(string jobId, string councilId, CancellationToken cancellationToken) => inner.FindAsync(jobId, councilId, cancellationToken);

        public Task<BulkCounts> CountAsync(string jobId, CancellationToken cancellationToken) => inner.CountAsync(jobId, cancellationToken);

        public Task<BulkJob?> CancelAsync(string jobId, string councilId, DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken) =>
            inner.CancelAsync(jobId, councilId, now, retention, cancellationToken);

        public Task<string?> RenewAsync(string jobId, string owner, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken) =>
            inner.RenewAsync(jobId, owner, now, duration, cancellationToken);

        public Task<IReadOnlyList<ClaimedBulkItem>> ReadClaimedAsync(string jobId, CancellationToken cancellationToken) => inner.ReadClaimedAsync(jobId, cancellationToken);

        public Task<IReadOnlyList<ClaimedBulkItem>> ClaimAsync(string jobId, string owner, int limit, CancellationToken cancellationToken) =>
            inner.ClaimAsync(jobId, owner, limit, cancellationToken);

        public Task<string?> ReleaseAsync(string jobId, string owner, DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken) =>
            inner.ReleaseAsync(jobId, owner, now, retention, cancellationToken);

        public Task<IReadOnlyList<BulkResultRow>> ReadResultsAsync(string jobId, int afterRow, int limit, CancellationToken cancellationToken) =>
            inner.ReadResultsAsync(jobId, afterRow, limit, cancellationToken);

        public IAsyncEnumerable<BulkResultRow> StreamResultsAsync(string jobId, int afterRow, int limit, CancellationToken cancellationToken) =>
            inner.StreamResultsAsync(jobId, afterRow, limit, cancellationToken);

        public Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.PurgeAsync(now, cancellationToken);
    }
}
