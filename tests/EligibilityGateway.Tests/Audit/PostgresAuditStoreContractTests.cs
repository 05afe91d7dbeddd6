using System.Buffers;
using EligibilityGateway.Audit;
using EligibilityGateway.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Xunit.Abstractions;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// The store contract against PostgreSQL: a throwaway cluster for the class (<see cref="PostgresServer"/>), a new
/// database for every log, and a one-second lock timeout so that lock tests finish quickly.
/// </summary>
public sealed class PostgresAuditStoreContractTests(PostgresServerFixture postgres, ITestOutputHelper output) : AuditStoreContractTests, IClassFixture<PostgresServerFixture>
{
    /// <summary>The database of this test's log (xunit makes an instance per test), also once the log is closed.</summary>
    private string? database;

    private protected override async Task<IDictionary<string, string?>> StoreSettingsAsync()
    {
        database = await postgres.Server.CreateDatabaseAsync("audit");
        return new Dictionary<string, string?>
        {
            ["Audit:Postgres:ConnectionString"] = database,
            ["Audit:Postgres:LockTimeout"] = "00:00:01",
        };
    }

    private protected override Task TamperAsync(string tampering, AuditTestLog audit) =>
        PostgresAuditTampering.ApplyAsync(tampering, ConnectionString(audit));

    private protected override async Task<IAsyncDisposable> HoldWriteLockAsync(AuditTestLog audit)
    {
        // What another replica's batch holds: the head row, locked until its transaction ends.
        var connection = new NpgsqlConnection(ConnectionString(audit));
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var command = new NpgsqlCommand("SELECT sequence FROM audit_head WHERE id = 1 FOR UPDATE;", connection, transaction))
        {
            await command.ExecuteScalarAsync();
        }

        return new HeldLock(connection, transaction);
    }

    private protected override IAuditStore OpenForVerification(AuditTestLog audit) =>
        new PostgresAuditStore(ConnectionString(audit), TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger.Instance);

    [Fact]
    public async Task Open_OnANewDatabase_CreatesTheSchemaAndRecordsItsVersionOnce()
    {
        var settings = await StoreSettingsAsync();
        var first = await CreateLogAsync(settings);
        await first.Log.AppendAsync(AuditTestLog.Check(1));
        await first.CloseAsync();

        await using var second = await CreateLogAsync(settings);

        var connectionString = settings["Audit:Postgres:ConnectionString"]!;
        (await PostgresAuditTampering.ScalarAsync(connectionString, "SELECT string_agg(version::text, ',' ORDER BY version) FROM audit_schema_migrations;")).Should().Be("1,2");
        (await PostgresAuditTampering.ScalarAsync(connectionString, "SELECT sequence FROM audit_head;")).Should().Be(1L);
        (await second.ReadAllAsync()).Should().ContainSingle();
        second.Store.Location.Should().NotContain("Username").And.StartWith("postgresql://127.0.0.1:");
    }

    [Fact]
    public async Task Open_ByManyReplicasAtOnceOnAnEmptyDatabase_AllSucceedWithOneSchema()
    {
        var connectionString = await postgres.Server.CreateDatabaseAsync("audit");
        var stores = Enumerable.Range(0, 8)
            .Select(_ => new PostgresAuditStore(connectionString, TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger.Instance))
            .ToArray();
        try
        {
            await Task.WhenAll(stores.Select(s => Task.Run(async () => await s.InitializeAsync(CancellationToken.None))));

            (await PostgresAuditTampering.ScalarAsync(connectionString, "SELECT string_agg(version::text, ',' ORDER BY version) FROM audit_schema_migrations;"))
                .Should().Be(string.Join(',', PostgresAuditSchema.Schema.Steps.Select(m => m.Version)), "each step applied once, by whichever replica took the lock first");
            (await PostgresAuditTampering.ScalarAsync(connectionString, "SELECT count(*) FROM audit_head;")).Should().Be(1L);
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
    public async Task Open_ADatabaseAtSchemaVersionOne_MigratesItToTheLatest_AndItsRecordsStillReadAndVerify()
    {
        // A log written at version 1: records and checkpoints, without what version 2 added (the auditor indexes).
        var settings = await StoreSettingsAsync();
        var connectionString = settings["Audit:Postgres:ConnectionString"]!;
        await using var old = await AuditTampering.WriteClosedLogAsync(settings);
        await PostgresAuditTampering.ExecuteAsync(connectionString, """
            DROP INDEX audit_records_by_council_sequence, audit_records_by_subject_sequence, audit_records_by_recorded_at;
            DELETE FROM audit_schema_migrations WHERE version > 1;
            """);

        // The next gateway, with the same keys, on that database.
        var reopened = new Dictionary<string, string?>(AuditTampering.CheckpointEveryTen) { ["Audit:Postgres:ConnectionString"] = connectionString };
        var audit = await AuditTestLog.CreateAsync(old.Directory, reopened);
        try
        {
            (await PostgresAuditTampering.ScalarAsync(connectionString, "SELECT string_agg(version::text, ',' ORDER BY version) FROM audit_schema_migrations;")).Should().Be("1,2");
            (await PostgresAuditTampering.ScalarAsync(connectionString, "SELECT count(*) FROM pg_indexes WHERE indexname = 'audit_records_by_council_sequence';")).Should().Be(1L);
            (await audit.ReadAllAsync()).Should().HaveCount(AuditTampering.Records);
            await audit.Log.AppendAsync(AuditTestLog.Check(AuditTampering.Records + 1));
        }
        finally
        {
            await audit.CloseAsync();
        }

        await using var store = new PostgresAuditStore(connectionString, TimeSpan.FromSeconds(5), TimeProvider.System, NullLogger.Instance);
        var result = await AuditVerifier.VerifyAsync(store, new AuditCheckpointVerifier(AuditTampering.PublicKeySet(Path.Combine(old.Directory, "keys"))), CancellationToken.None);
        var valid = result.Should().BeOfType<AuditVerification.Valid>(AuditVerification.Describe(result)).Subject;
        valid.Count.Should().Be(AuditTampering.Records + 1, "the records written before the migration and the one after form one chain");
        valid.LastCheckpoint!.Sequence.Should().Be(AuditTampering.Records + 1);
    }

    [Fact]
    public async Task AuditRecords_CannotBeUpdatedInPlace()
    {
        await using var audit = await CreateLogAsync();
        await audit.Log.AppendAsync(AuditTestLog.Check(1));

        var update = () => PostgresAuditTampering.ExecuteAsync(ConnectionString(audit), "UPDATE audit_records SET outcome = 'eligible' WHERE sequence = 1;");

        await update.Should().ThrowAsync<PostgresException>().WithMessage("*never updated*");
    }

    [Fact]
    public async Task ChainRows_AreTheSameTextAsSqliteStores_SoTheHashesAgree()
    {
        var entries = Enumerable.Range(1, 12).Select(n => AuditTestLog.Check(n)).ToArray();
        await using var postgresLog = await CreateLogAsync();
        await using var sqliteLog = await AuditTestLog.CreateAsync();
        foreach (var entry in entries)
        {
            await postgresLog.Log.AppendAsync(entry);
            await sqliteLog.Log.AppendAsync(entry);
        }

        var postgresRows = await postgresLog.Store.ReadChainAsync(1, CancellationToken.None).ToListAsync();
        var sqliteRows = await sqliteLog.Store.ReadChainAsync(1, CancellationToken.None).ToListAsync();

        // recorded_at differs between the two logs (each stamps its own batches), so compare every other column,
        // and check that each store's hash is the chain over its own canonical text.
        postgresRows.Select(r => r.Values.RemoveAt(2)).Should().BeEquivalentTo(sqliteRows.Select(r => r.Values.RemoveAt(2)), o => o.WithStrictOrdering());
        postgresRows.Should().AllSatisfy(r => r.Values[2].Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$"));
        var previous = AuditChain.Genesis.ToArray();
        var hash = new byte[AuditChain.HashBytes];
        foreach (var row in postgresRows)
        {
            AuditChain.ComputeHash(row.Values, previous, new ArrayBufferWriter<byte>(), hash);
            row.Hash.Should().Be(AuditChain.ToHex(hash));
            hash.CopyTo(previous, 0);
        }
    }

    [Fact]
    public async Task AppendThroughput_WithTheChain_IsMeasured()
    {
        // A rough figure for the README; asserted only loosely, because test machines vary.
        await using var audit = await CreateLogAsync();
        await Task.WhenAll(Enumerable.Range(1, 1000).Select(i => audit.Log.AppendAsync(AuditTestLog.Check(i)).AsTask()));
        var entries = Enumerable.Range(1, 50_000).Select(i => AuditTestLog.Check(i)).ToArray();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(entries.Select(e => audit.Log.AppendAsync(e).AsTask()));
        clock.Stop();

        var perSecond = entries.Length / clock.Elapsed.TotalSeconds;
        output.WriteLine($"audit append with chain on PostgreSQL: {perSecond:N0} records/s ({entries.Length} records in {clock.Elapsed.TotalMilliseconds:N0} ms, {audit.Log.TransactionsCommitted} transactions)");
        perSecond.Should().BeGreaterThan(2_000);
        (await audit.Store.ReadChainAsync(1, CancellationToken.None).CountAsync()).Should().Be(51_000);
    }

    private string ConnectionString(AuditTestLog audit) =>
        audit.Store.Kind == "postgresql" && database is not null ? database : throw new InvalidOperationException("This test's log is not in PostgreSQL.");

    private sealed class HeldLock(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await transaction.RollbackAsync();
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}

/// <summary>One <see cref="PostgresServer"/> for a test class, stopped after its last test whatever the outcome.</summary>
public sealed class PostgresServerFixture : IAsyncLifetime
{
    private PostgresServer? server;

    public PostgresServer Server => server ?? throw new InvalidOperationException("The PostgreSQL server has not started.");

    public async Task InitializeAsync() => server = await PostgresServer.StartNewAsync();

    public async Task DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}

/// <summary>
/// The tamperings of <see cref="AuditTampering"/> in PostgreSQL's SQL, as someone with write access to the database
/// would do them: the update trigger and the positive-sequence check are no obstacle to them, so every tampering
/// starts by dropping both.
/// </summary>
internal static class PostgresAuditTampering
{
    public static async Task ApplyAsync(string tampering, string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, "DROP TRIGGER audit_records_never_updated ON audit_records;");
        await ExecuteAsync(connection, "ALTER TABLE audit_records DROP CONSTRAINT audit_records_sequence_check;");
        switch (tampering)
        {
            case "change-one-field":
                await ExecuteAsync(connection, "UPDATE audit_records SET outcome = 'eligible' WHERE sequence = 7;");
                break;
            case "delete-a-record":
                await ExecuteAsync(connection, "DELETE FROM audit_records WHERE sequence = 12;");
                break;
            case "delete-the-oldest-records-up-to-a-checkpoint":
                await ExecuteAsync(connection, "DELETE FROM audit_records WHERE sequence <= 10;");
                break;
            case "delete-up-to-the-checkpoint-at-20":
                await ExecuteAsync(connection, "DELETE FROM audit_records WHERE sequence <= 20;");
                break;
            case "delete-a-record-and-renumber":
                // Through negative numbers, because PostgreSQL checks the primary key row by row.
                await ExecuteAsync(connection, "DELETE FROM audit_records WHERE sequence = 12;");
                await ExecuteAsync(connection, "UPDATE audit_records SET sequence = -sequence WHERE sequence > 12;");
                await ExecuteAsync(connection, "UPDATE audit_records SET sequence = -sequence - 1 WHERE sequence < 0;");
                break;
            case "insert-a-record":
                await ExecuteAsync(connection, "UPDATE audit_records SET sequence = -sequence WHERE sequence >= 10;");
                await ExecuteAsync(connection, "UPDATE audit_records SET sequence = 1 - sequence WHERE sequence < 0;");
                await ExecuteAsync(connection, $"INSERT INTO audit_records ({PostgresAuditStore.ChainColumns}) SELECT 10, {PostgresAuditStore.ChainColumns[10..]} FROM audit_records WHERE sequence = 9;");
                break;
            case "swap-two-records":
                await ExecuteAsync(connection, "UPDATE audit_records SET sequence = -1 WHERE sequence = 14;");
                await ExecuteAsync(connection, "UPDATE audit_records SET sequence = 14 WHERE sequence = 15;");
                await ExecuteAsync(connection, "UPDATE audit_records SET sequence = 15 WHERE sequence = -1;");
                break;
            case "truncate-the-tail-after-a-checkpoint":
                await ExecuteAsync(connection, "DELETE FROM audit_records WHERE sequence > 15;");
                break;
            case "rewrite-the-chain-after-a-record-changed":
                await ExecuteAsync(connection, "UPDATE audit_records SET decision_rule = 'rewritten' WHERE sequence = 13;");
                await RecomputeHashesAsync(connection);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(tampering), tampering, null);
        }
    }

    public static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, sql);
    }

    public static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static async Task RecomputeHashesAsync(NpgsqlConnection connection)
    {
        var rows = new List<AuditChainRow>();
        await using (var read = new NpgsqlCommand($"SELECT {PostgresAuditStore.ChainColumns} FROM audit_records ORDER BY sequence;", connection))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows.Add(PostgresAuditStore.ReadChainRow(reader));
            }
        }

        var previous = AuditChain.Genesis.ToArray();
        var hash = new byte[AuditChain.HashBytes];
        var scratch = new ArrayBufferWriter<byte>();
        foreach (var row in rows)
        {
            AuditChain.ComputeHash(row.Values, previous, scratch, hash);
            await using var update = new NpgsqlCommand("UPDATE audit_records SET hash = $1 WHERE sequence = $2;", connection);
            update.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AuditChain.ToHex(hash) });
            update.Parameters.Add(new NpgsqlParameter<long> { TypedValue = row.Sequence });
            await update.ExecuteNonQueryAsync();
            hash.CopyTo(previous, 0);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
