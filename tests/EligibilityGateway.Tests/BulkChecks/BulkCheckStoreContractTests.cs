using System.Collections.Concurrent;
using EligibilityGateway.BulkChecks;
using EligibilityGateway.Checks;
using EligibilityGateway.Tests.Audit;
using Npgsql;

namespace EligibilityGateway.Tests.BulkChecks;

/// <summary>
/// What every bulk-check store must do (src/EligibilityGateway/BulkChecks/README.md, "Durable state"), run against
/// each real engine by the classes below: leases, claims, results, cancellation, release, retention, and two store
/// instances (two connection pools, as two replicas have) racing for one job's lease and its items.
/// </summary>
public abstract class BulkCheckStoreContractTests : IAsyncLifetime
{
    private protected static readonly DateTimeOffset Now = new(2026, 11, 22, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Retention = TimeSpan.FromDays(7);
    private IBulkCheckStore store = null!;

    /// <summary>A new store on this test's database; opening it again gives another store (another pool) on the same data.</summary>
    private protected abstract IBulkCheckStore OpenStore();

    /// <summary>Creates this test's empty database.</summary>
    private protected virtual Task CreateDatabaseAsync() => Task.CompletedTask;

    private protected abstract Task DeleteDatabaseAsync();

    /// <summary>How many items of the job still hold a sealed subject, read with the engine's own SQL.</summary>
    private protected abstract Task<long> SealedSubjectsAsync(string jobId);

    public async Task InitializeAsync()
    {
        await CreateDatabaseAsync();
        store = OpenStore();
        await store.InitializeAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (store is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }

        await DeleteDatabaseAsync();
    }

    private protected static BulkJob NewJob(string id, int total, DateTimeOffset? createdAt = null, string council = "leeds") =>
        new(id, council, council, "free-school-meals", "public-task", "0af7651916cd43dd8448eb211c80319c", BulkJobStatus.Queued, total, createdAt ?? Now, null, null, null);

    /// <summary><paramref name="valid"/> items with a sealed subject, then <paramref name="invalid"/> rejected rows.</summary>
    private protected static List<NewBulkItem> NewItems(int valid, int invalid = 0) =>
    [
        .. Enumerable.Range(1, valid).Select(row => new NewBulkItem(row, $"chk-{row}", $"CASE-{row}", [1, 2, (byte)row], null)),
        .. Enumerable.Range(valid + 1, invalid).Select(row => new NewBulkItem(row, null, $"CASE-{row}", null, """[{"field":"subject.lastName","message":"required"}]""")),
    ];

    private async Task<IBulkCheckStore> OpenAnotherAsync()
    {
        var other = OpenStore();
        await other.InitializeAsync(CancellationToken.None);
        return other;
    }

    private static async Task CloseAsync(IBulkCheckStore other)
    {
        if (other is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
    }

    private static BulkItemResult Completed(int row, Outcome outcome = Outcome.Eligible) =>
        new(row, BulkItemState.Completed, outcome, "live", Now, Now.AddDays(30), ["dwp", "hmrc"], 1000 + row, null);

    [Fact]
    public async Task Create_ThenFind_GivesBackTheJobToItsCouncilOnly_WithItsCounts()
    {
        await store.CreateAsync(NewJob("job-1", 5), NewItems(3, invalid: 2), CancellationToken.None);

        (await store.FindAsync("job-1", "leeds", CancellationToken.None)).Should().BeEquivalentTo(NewJob("job-1", 5));
        (await store.FindAsync("job-1", "camden", CancellationToken.None)).Should().BeNull("another council's job is not found");
        (await store.FindAsync("job-2", "leeds", CancellationToken.None)).Should().BeNull();
        (await store.CountAsync("job-1", CancellationToken.None)).Should().Be(new BulkCounts(3, 0, 0, 2, 0, 0, 0, 0, 0));
        (await SealedSubjectsAsync("job-1")).Should().Be(3, "an invalid row has no subject");

        var rows = await store.ReadResultsAsync("job-1", 0, 10, CancellationToken.None);
        rows.Select(r => (r.Row, r.State, r.CaseReference)).Should().Equal(
            (1, "pending", "CASE-1"), (2, "pending", "CASE-2"), (3, "pending", "CASE-3"), (4, "invalid", "CASE-4"), (5, "invalid", "CASE-5"));
        rows[3].Errors.Should().Contain("subject.lastName");
        rows[3].CheckId.Should().BeNull();
    }

    [Fact]
    public async Task InitializeAgain_KeepsTheJobs()
    {
        await store.CreateAsync(NewJob("job-1", 1), NewItems(1), CancellationToken.None);

        var reopened = await OpenAnotherAsync();
        try
        {
            (await reopened.FindAsync("job-1", "leeds", CancellationToken.None)).Should().NotBeNull();
        }
        finally
        {
            await CloseAsync(reopened);
        }
    }

    [Fact]
    public async Task Lease_GoesToTheOldestOpenJob_ToOneHolderUntilItExpires()
    {
        await store.CreateAsync(NewJob("newer", 1, Now.AddSeconds(1)), NewItems(1), CancellationToken.None);
        await store.CreateAsync(NewJob("older", 1), NewItems(1), CancellationToken.None);

        var first = await store.TryLeaseAsync("a", Now, Lease, [], CancellationToken.None);
        first!.JobId.Should().Be("older");
        first.Status.Should().Be(BulkJobStatus.Running);
        first.StartedAt.Should().Be(Now);
        (await store.TryLeaseAsync("b", Now, Lease, ["newer"], CancellationToken.None)).Should().BeNull("the older job is held and the newer excluded");
        (await store.TryLeaseAsync("b", Now, Lease, [], CancellationToken.None))!.JobId.Should().Be("newer");
        (await store.TryLeaseAsync("c", Now.AddSeconds(29), Lease, [], CancellationToken.None)).Should().BeNull("both leases still run");

        var taken = await store.TryLeaseAsync("c", Now + Lease, Lease, [], CancellationToken.None);
        taken!.JobId.Should().Be("older", "a lease is free again at the instant it expires");
        taken.StartedAt.Should().Be(Now, "the first start is kept");
        (await store.RenewAsync("older", "a", Now + Lease, Lease, CancellationToken.None)).Should().BeNull("a's lease is lost");
    }

    [Fact]
    public async Task Renew_OnlyByTheHolder_WhileTheLeaseRuns_AndReportsTheStatus()
    {
        await store.CreateAsync(NewJob("job-1", 2), NewItems(2), CancellationToken.None);
        await store.TryLeaseAsync("a", Now, Lease, [], CancellationToken.None);

        (await store.RenewAsync("job-1", "b", Now, Lease, CancellationToken.None)).Should().BeNull();
        (await store.RenewAsync("job-1", "a", Now.AddSeconds(20), Lease, CancellationToken.None)).Should().Be(BulkJobStatus.Running);
        (await store.TryLeaseAsync("b", Now.AddSeconds(31), Lease, [], CancellationToken.None)).Should().BeNull("the renewal moved the expiry to 50 s");

        await store.CancelAsync("job-1", "leeds", Now.AddSeconds(40), Retention, CancellationToken.None);
        (await store.RenewAsync("job-1", "a", Now.AddSeconds(41), Lease, CancellationToken.None)).Should().Be(BulkJobStatus.Cancelled, "the holder learns of the cancellation");
        (await store.RenewAsync("job-1", "a", Now.AddSeconds(50), Lease, CancellationToken.None)).Should().BeNull("a cancelled job's lease is not extended");
    }

    [Fact]
    public async Task Claim_HandsPendingItemsInRowOrder_OnlyToTheLeaseHolder()
    {
        await store.CreateAsync(NewJob("job-1", 6), NewItems(5, invalid: 1), CancellationToken.None);
        (await store.ClaimAsync("job-1", "a", 10, CancellationToken.None)).Should().BeEmpty("nobody holds the lease yet");
        await store.TryLeaseAsync("a", Now, Lease, [], CancellationToken.None);

        (await store.ClaimAsync("job-1", "b", 10, CancellationToken.None)).Should().BeEmpty("b does not hold the lease");
        var claimed = await store.ClaimAsync("job-1", "a", 2, CancellationToken.None);
        claimed.Should().BeEquivalentTo([new ClaimedBulkItem(1, "chk-1", "CASE-1", [1, 2, 1]), new ClaimedBulkItem(2, "chk-2", "CASE-2", [1, 2, 2])], o => o.WithStrictOrdering());
        (await store.ClaimAsync("job-1", "a", 10, CancellationToken.None)).Select(i => i.Row).Should().Equal(3, 4, 5);
        (await store.ClaimAsync("job-1", "a", 10, CancellationToken.None)).Should().BeEmpty("an invalid row is never claimed");
        (await store.ReadClaimedAsync("job-1", CancellationToken.None)).Select(i => i.Row).Should().Equal(1, 2, 3, 4, 5);
        (await store.CountAsync("job-1", CancellationToken.None)).Pending.Should().Be(5, "claimed items show as pending");
    }

    [Fact]
    public async Task WriteResults_KeepsEachResult_AndErasesTheSealedSubjects()
    {
        await store.CreateAsync(NewJob("job-1", 4), NewItems(4), CancellationToken.None);
        await store.TryLeaseAsync("a", Now, Lease, [], CancellationToken.None);
        await store.ClaimAsync("job-1", "a", 10, CancellationToken.None);

        await store.WriteResultsAsync("job-1",
        [
            Completed(2, Outcome.NotEligible),
            Completed(1),
            new BulkItemResult(3, BulkItemState.Failed, null, null, null, null, null, null, "deny:no-permission"),
        ], CancellationToken.None);

        (await SealedSubjectsAsync("job-1")).Should().Be(1, "only the unsettled item keeps its subject");
        (await store.CountAsync("job-1", CancellationToken.None)).Should().Be(new BulkCounts(1, 2, 1, 0, 0, 1, 1, 0, 0));
        var rows = await store.ReadResultsAsync("job-1", 0, 10, CancellationToken.None);
        rows[0].Should().BeEquivalentTo(new BulkResultRow(1, "CASE-1", "chk-1", "completed", "eligible", "live", Now, Now.AddDays(30), "dwp hmrc", 1001, null, null));
        rows[1].Outcome.Should().Be("not-eligible");
        rows[2].Should().BeEquivalentTo(new BulkResultRow(3, "CASE-3", "chk-3", "failed", null, null, null, null, null, null, "deny:no-permission", null));
        rows[3].State.Should().Be("claimed");
        (await store.ReadClaimedAsync("job-1", CancellationToken.None)).Select(i => i.Row).Should().Equal(4);
    }

    [Fact]
    public async Task Results_PageByRow_AndStreamInRowOrder()
    {
        await store.CreateAsync(NewJob("job-1", 7), NewItems(7), CancellationToken.None);

        (await store.ReadResultsAsync("job-1", 2, 3, CancellationToken.None)).Select(r => r.Row).Should().Equal(3, 4, 5);
        (await store.ReadResultsAsync("job-1", 7, 3, CancellationToken.None)).Should().BeEmpty();
        var streamed = new List<int>();
        await foreach (var row in store.StreamResultsAsync("job-1", 0, int.MaxValue, CancellationToken.None))
        {
            streamed.Add(row.Row);
        }

        streamed.Should().Equal(1, 2, 3, 4, 5, 6, 7);
    }

    [Fact]
    public async Task Release_CompletesAJobWithEveryItemSettled_ThenPurgeDeletesItAfterRetention()
    {
        await store.CreateAsync(NewJob("job-1", 3), NewItems(2, invalid: 1), CancellationToken.None);
        await store.TryLeaseAsync("a", Now, Lease, [], CancellationToken.None);
        await store.ClaimAsync("job-1", "a", 10, CancellationToken.None);
        await store.WriteResultsAsync("job-1", [Completed(1)], CancellationToken.None);

        (await store.ReleaseAsync("job-1", "b", Now, Retention, CancellationToken.None)).Should().BeNull("b holds no lease");
        (await store.ReleaseAsync("job-1", "a", Now, Retention, CancellationToken.None)).Should().Be(BulkJobStatus.Running, "row 2 is still claimed");
        (await store.TryLeaseAsync("a", Now.AddSeconds(1), Lease, [], CancellationToken.None))!.JobId.Should().Be("job-1", "a released job is free at once");
        await store.WriteResultsAsync("job-1", [Completed(2)], CancellationToken.None);
        (await store.ReleaseAsync("job-1", "a", Now.AddMinutes(1), Retention, CancellationToken.None)).Should().Be(BulkJobStatus.Completed);

        var done = await store.FindAsync("job-1", "leeds", CancellationToken.None);
        done!.FinishedAt.Should().Be(Now.AddMinutes(1));
        done.PurgeAfter.Should().Be(Now.AddMinutes(1) + Retention);
        (await store.TryLeaseAsync("b", Now.AddHours(1), Lease, [], CancellationToken.None)).Should().BeNull("a completed job is never leased");
        (await store.PurgeAsync(Now.AddMinutes(1) + Retention - TimeSpan.FromTicks(1), CancellationToken.None)).Should().Be(0);
        await store.CreateAsync(NewJob("job-2", 1), NewItems(1), CancellationToken.None);

        (await store.PurgeAsync(Now.AddMinutes(1) + Retention, CancellationToken.None)).Should().Be(4, "the job and its three rows");
        (await store.FindAsync("job-1", "leeds", CancellationToken.None)).Should().BeNull();
        (await store.ReadResultsAsync("job-1", 0, 10, CancellationToken.None)).Should().BeEmpty();
        (await store.FindAsync("job-2", "leeds", CancellationToken.None)).Should().NotBeNull("an unfinished job is never purged");
    }

    [Fact]
    public async Task Cancel_CancelsPendingItems_LeavesClaimedOnesToTheirHolder_WhoseReleaseCancelsThoseNotTaken()
    {
        await store.CreateAsync(NewJob("job-1", 5), NewItems(5), CancellationToken.None);
        await store.TryLeaseAsync("a", Now, Lease, [], CancellationToken.None);
        await store.ClaimAsync("job-1", "a", 2, CancellationToken.None);

        (await store.CancelAsync("job-1", "camden", Now, Retention, CancellationToken.None)).Should().BeNull("only the submitting council cancels");
        var cancelled = await store.CancelAsync("job-1", "leeds", Now.AddSeconds(5), Retention, CancellationToken.None);

        cancelled!.Status.Should().Be(BulkJobStatus.Cancelled);
        cancelled.FinishedAt.Should().Be(Now.AddSeconds(5));
        cancelled.PurgeAfter.Should().Be(Now.AddSeconds(5) + Retention);
        (await store.CountAsync("job-1", CancellationToken.None)).Should().Be(new BulkCounts(2, 0, 0, 0, 3, 0, 0, 0, 0));
        (await SealedSubjectsAsync("job-1")).Should().Be(2, "the cancelled items' subjects are erased");
        (await store.ClaimAsync("job-1", "a", 10, CancellationToken.None)).Should().BeEmpty("nothing is claimed from a cancelled job");
        (await store.CancelAsync("job-1", "leeds", Now.AddSeconds(9), Retention, CancellationToken.None))!.FinishedAt.Should().Be(Now.AddSeconds(5), "cancelling again changes nothing");

        await store.WriteResultsAsync("job-1", [Completed(1)], CancellationToken.None);
        (await store.ReleaseAsync("job-1", "a", Now.AddSeconds(6), Retention, CancellationToken.None)).Should().Be(BulkJobStatus.Cancelled);

        (await store.CountAsync("job-1", CancellationToken.None)).Should().Be(new BulkCounts(0, 1, 0, 0, 4, 1, 0, 0, 0), "row 1 was checked before the release; row 2 never was");
        (await SealedSubjectsAsync("job-1")).Should().Be(0);
    }

    [Fact]
    public async Task Lease_OfACancelledJobWhoseHolderDied_IsTakenAfterExpiry_SoItsClaimedItemsAreSettled()
    {
        await store.CreateAsync(NewJob("job-1", 3), NewItems(3), CancellationToken.None);
        await store.TryLeaseAsync("dead", Now, Lease, [], CancellationToken.None);
        await store.ClaimAsync("job-1", "dead", 1, CancellationToken.None);
        await store.CancelAsync("job-1", "leeds", Now.AddSeconds(1), Retention, CancellationToken.None);

        (await store.TryLeaseAsync("b", Now.AddSeconds(29), Lease, [], CancellationToken.None)).Should().BeNull();
        var taken = await store.TryLeaseAsync("b", Now + Lease, Lease, [], CancellationToken.None);

        taken!.Status.Should().Be(BulkJobStatus.Cancelled, "taking the lease does not revive it");
        (await store.ReadClaimedAsync("job-1", CancellationToken.None)).Select(i => i.Row).Should().Equal(1);
        (await store.ReleaseAsync("job-1", "b", Now + Lease, Retention, CancellationToken.None)).Should().Be(BulkJobStatus.Cancelled);
        (await store.TryLeaseAsync("c", Now.AddHours(1), Lease, [], CancellationToken.None)).Should().BeNull("a released cancelled job is done with");
        (await store.CountAsync("job-1", CancellationToken.None)).Cancelled.Should().Be(3);
    }

    [Fact]
    public async Task TwoStores_RacingForTheLeaseOfEachJob_ExactlyOneWinsEveryTime()
    {
        var other = await OpenAnotherAsync();
        try
        {
            for (var round = 0; round < 20; round++)
            {
                var id = $"race-{round}";
                await store.CreateAsync(NewJob(id, 1, Now.AddSeconds(round)), NewItems(1), CancellationToken.None);
                using var start = new SemaphoreSlim(0);

                // Four takers on each store, as replicas polling at the same moment would be.
                var takers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
                {
                    await start.WaitAsync();
                    var job = await (i % 2 == 0 ? store : other).TryLeaseAsync($"owner-{i}", Now.AddSeconds(round), Lease, [], CancellationToken.None);
                    return job is null ? null : $"owner-{i}";
                })).ToArray();
                start.Release(takers.Length);
                var winners = (await Task.WhenAll(takers)).Where(w => w is not null).ToList();

                winners.Should().ContainSingle($"one lease per job (round {round})");
                (await other.RenewAsync(id, winners[0]!, Now.AddSeconds(round), Lease, CancellationToken.None)).Should().Be(BulkJobStatus.Running, "the winner holds it");
            }
        }
        finally
        {
            await CloseAsync(other);
        }
    }

    [Fact]
    public async Task TwoStores_RacingClaims_NeverHandTheSameItemTwice_AndHandEveryItemOnce()
    {
        const int items = 1000;
        await store.CreateAsync(NewJob("job-1", items), NewItems(items), CancellationToken.None);
        await store.TryLeaseAsync("a", Now, Lease, [], CancellationToken.None);
        var other = await OpenAnotherAsync();
        try
        {
            var handed = new ConcurrentBag<int>();
            using var start = new SemaphoreSlim(0);

            // The holder's claims through both stores at once, and another owner's, which must get nothing.
            var claimers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            {
                await start.WaitAsync();
                while (true)
                {
                    var claimed = await (i % 2 == 0 ? store : other).ClaimAsync("job-1", i == 7 ? "b" : "a", 7, CancellationToken.None);
                    if (claimed.Count == 0)
                    {
                        return;
                    }

                    i.Should().NotBe(7, "b holds no lease");
                    claimed.Select(c => c.Row).Should().BeInAscendingOrder();
                    foreach (var item in claimed)
                    {
                        handed.Add(item.Row);
                    }
                }
            })).ToArray();
            start.Release(claimers.Length);
            await Task.WhenAll(claimers);

            handed.Should().OnlyHaveUniqueItems().And.HaveCount(items);
            (await store.ReadClaimedAsync("job-1", CancellationToken.None)).Should().HaveCount(items);
        }
        finally
        {
            await CloseAsync(other);
        }
    }

    [Fact]
    public async Task Claims_RacingACancellationFromAnotherStore_LeaveEveryItemClaimedOrCancelled_NeverBoth()
    {
        const int items = 500;
        await store.CreateAsync(NewJob("job-1", items), NewItems(items), CancellationToken.None);
        await store.TryLeaseAsync("a", Now, Lease, [], CancellationToken.None);
        var other = await OpenAnotherAsync();
        try
        {
            var handed = new ConcurrentBag<int>();
            using var start = new SemaphoreSlim(0);
            var claimer = Task.Run(async () =>
            {
                await start.WaitAsync();
                IReadOnlyList<ClaimedBulkItem> claimed;
                while ((claimed = await store.ClaimAsync("job-1", "a", 5, CancellationToken.None)).Count > 0)
                {
                    foreach (var item in claimed)
                    {
                        handed.Add(item.Row);
                    }
                }
            });
            var canceller = Task.Run(async () =>
            {
                await start.WaitAsync();
                await Task.Delay(5);
                return await other.CancelAsync("job-1", "leeds", Now, Retention, CancellationToken.None);
            });
            start.Release(2);
            await claimer;
            (await canceller)!.Status.Should().Be(BulkJobStatus.Cancelled);

            var counts = await store.CountAsync("job-1", CancellationToken.None);
            counts.Pending.Should().Be(handed.Count, "what was claimed before the cancellation stays with its worker");
            counts.Cancelled.Should().Be(items - handed.Count, "and everything else is cancelled");
            (await store.ReadClaimedAsync("job-1", CancellationToken.None)).Select(i => i.Row).Should().BeEquivalentTo(handed);
        }
        finally
        {
            await CloseAsync(other);
        }
    }
}

/// <summary>The contract against the SQLite store on a real file.</summary>
public sealed class SqliteBulkCheckStoreTests : BulkCheckStoreContractTests
{
    private readonly string directory = Directory.CreateTempSubdirectory("egw-bulk-store-").FullName;

    private string DatabasePath => Path.Combine(directory, "bulk-checks.db");

    private protected override IBulkCheckStore OpenStore() => new SqliteBulkCheckStore(DatabasePath);

    private protected override async Task<long> SealedSubjectsAsync(string jobId)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM bulk_items WHERE job_id = $id AND sealed_subject IS NOT NULL;";
        command.Parameters.AddWithValue("$id", jobId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private protected override Task DeleteDatabaseAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(directory, recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// The contract against the PostgreSQL store (a throwaway cluster for the class, a new database for every test), then
/// what only a shared database has: replicas migrating it together, and a database from a newer gateway.
/// </summary>
public sealed class PostgresBulkCheckStoreTests(PostgresServerFixture postgres) : BulkCheckStoreContractTests, IClassFixture<PostgresServerFixture>
{
    private string connectionString = null!;

    private protected override async Task CreateDatabaseAsync() => connectionString = await postgres.Server.CreateDatabaseAsync("bulk");

    private protected override IBulkCheckStore OpenStore() => new PostgresBulkCheckStore(connectionString, TimeProvider.System);

    private protected override Task DeleteDatabaseAsync() => Task.CompletedTask;

    private protected override async Task<long> SealedSubjectsAsync(string jobId) =>
        (long)(await ScalarAsync(connectionString, $"SELECT count(*) FROM bulk_items WHERE job_id = '{jobId}' AND sealed_subject IS NOT NULL;"))!;

    [Fact]
    public async Task Initialize_ByManyReplicasAtOnceOnAnEmptyDatabase_AllSucceedWithOneSchema()
    {
        var empty = await postgres.Server.CreateDatabaseAsync("bulk");
        var stores = Enumerable.Range(0, 6).Select(_ => new PostgresBulkCheckStore(empty, TimeProvider.System)).ToArray();
        try
        {
            await Task.WhenAll(stores.Select(s => Task.Run(async () => await s.InitializeAsync(CancellationToken.None))));

            stores.Sum(s => s.Applied.Count).Should().Be(PostgresBulkCheckStore.Schema.LatestVersion, "one replica applied each step, the others found it applied");
            (await ScalarAsync(empty, "SELECT count(*) FROM pg_tables WHERE tablename IN ('bulk_jobs', 'bulk_items');")).Should().Be(2L);
            await stores[1].CreateAsync(NewJob("job-1", 1), NewItems(1), CancellationToken.None);
            (await stores[4].FindAsync("job-1", "leeds", CancellationToken.None)).Should().NotBeNull();
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Initialize_OnADatabaseFromANewerGateway_Refuses()
    {
        await ScalarAsync(connectionString, "INSERT INTO bulk_check_schema_migrations (version, description, applied_at) VALUES (99, 'from the future', 'now');");
        await using var store = new PostgresBulkCheckStore(connectionString, TimeProvider.System);

        var open = async () => await store.InitializeAsync(CancellationToken.None);

        await open.Should().ThrowAsync<InvalidOperationException>().WithMessage("*bulk-check*schema version 99*");
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
