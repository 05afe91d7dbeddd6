using System.Collections.Immutable;
using EligibilityGateway.Consents;
using EligibilityGateway.Storage;
using EligibilityGateway.Tests.Audit;
using Npgsql;
using Xunit.Abstractions;

namespace EligibilityGateway.Tests.Consents;

/// <summary>
/// The contract against the PostgreSQL store (a throwaway cluster for the class, a new database for every test), then
/// what only a shared database has: replicas migrating it together, and replicas racing on one consent.
/// </summary>
public sealed class PostgresConsentStoreTests(PostgresServerFixture postgres, ITestOutputHelper output) : ConsentStoreContractTests, IClassFixture<PostgresServerFixture>
{
    private string connectionString = null!;

    private protected override async Task CreateDatabaseAsync() => connectionString = await postgres.Server.CreateDatabaseAsync("consents");

    private protected override IConsentStore OpenStore() => new PostgresConsentStore(connectionString, TimeProvider.System);

    private protected override Task DeleteDatabaseAsync() => Task.CompletedTask;

    [Fact]
    public async Task Initialize_ByManyReplicasAtOnceOnAnEmptyDatabase_AllSucceedWithOneSchema()
    {
        var empty = await postgres.Server.CreateDatabaseAsync("consents");
        var stores = Enumerable.Range(0, 8).Select(_ => new PostgresConsentStore(empty, TimeProvider.System)).ToArray();
        try
        {
            await Task.WhenAll(stores.Select(s => Task.Run(async () => await s.InitializeAsync(CancellationToken.None))));

            stores.Sum(s => s.Applied.Count).Should().Be(PostgresConsentStore.Schema.LatestVersion, "one replica applied each step, the others found it applied");
            (await ScalarAsync(empty, "SELECT string_agg(version::text, ',' ORDER BY version) FROM consent_schema_migrations;"))
                .Should().Be(string.Join(',', PostgresConsentStore.Schema.Steps.Select(m => m.Version)));
            (await ScalarAsync(empty, "SELECT count(*) FROM pg_tables WHERE tablename = 'consents';")).Should().Be(1L);

            await stores[3].InsertAsync(NewConsent("c-1"), CancellationToken.None);
            (await stores[5].FindAsync("c-1", CancellationToken.None)).Should().NotBeNull();
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
        await ExecuteAsync(connectionString, "INSERT INTO consent_schema_migrations (version, description, applied_at) VALUES (99, 'from the future', 'now');");
        await using var store = new PostgresConsentStore(connectionString, TimeProvider.System);

        var open = async () => await store.InitializeAsync(CancellationToken.None);

        await open.Should().ThrowAsync<InvalidOperationException>().WithMessage("*schema version 99*knows versions up to 1*");
    }

    [Fact]
    public async Task Migrations_OnADatabaseAtVersionOne_ApplyOnlyTheLaterStepsAndKeepTheRows()
    {
        var database = await postgres.Server.CreateDatabaseAsync("migrations");
        var schema = new PostgresMigrations("example", "example_schema_migrations", 0x6567_775f_7465_7374,
        [
            new(1, "table", "CREATE TABLE example (id integer PRIMARY KEY);"),
            new(2, "column", "ALTER TABLE example ADD COLUMN name text NOT NULL DEFAULT 'unnamed';"),
            new(3, "index", "CREATE INDEX example_by_name ON example (name);"),
        ]);
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        (await schema.MigrateAsync(connection, "t1", CancellationToken.None, targetVersion: 1)).Select(m => m.Version).Should().Equal(1);
        await ExecuteAsync(database, "INSERT INTO example (id) VALUES (7);");

        var applied = await schema.MigrateAsync(connection, "t2", CancellationToken.None);

        applied.Select(m => m.Version).Should().Equal(2, 3);
        (await schema.CurrentVersionAsync(connection, CancellationToken.None)).Should().Be(3);
        (await ScalarAsync(database, "SELECT name FROM example WHERE id = 7;")).Should().Be("unnamed");
        (await ScalarAsync(database, "SELECT string_agg(version || '@' || applied_at, ',' ORDER BY version) FROM example_schema_migrations;")).Should().Be("1@t1,2@t2,3@t2");
        (await schema.MigrateAsync(connection, "t3", CancellationToken.None)).Should().BeEmpty();
    }

    [Fact]
    public async Task Migrations_WhenAStepFails_LeaveTheDatabaseAtItsVersion()
    {
        var database = await postgres.Server.CreateDatabaseAsync("migrations");
        var good = new PostgresMigration(1, "table", "CREATE TABLE example (id integer PRIMARY KEY);");
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await new PostgresMigrations("example", "example_schema_migrations", 1, [good]).MigrateAsync(connection, "t1", CancellationToken.None);
        var broken = new PostgresMigrations("example", "example_schema_migrations", 1,
        [
            good,
            new(2, "half", "CREATE TABLE example_two (id integer); CREATE TABLE example (id integer);"),
        ]);

        var migrate = async () => await broken.MigrateAsync(connection, "t2", CancellationToken.None);

        await migrate.Should().ThrowAsync<PostgresException>();
        (await broken.CurrentVersionAsync(connection, CancellationToken.None)).Should().Be(1);
        (await ScalarAsync(database, "SELECT count(*) FROM pg_tables WHERE tablename = 'example_two';")).Should().Be(0L, "the failed step's first statement was rolled back with it");
    }

    [Fact]
    public async Task TwoReplicas_RacingRevocationAgainstUse_OneWinsAndEveryCountedUseIsExact()
    {
        await using var first = new PostgresConsentStore(connectionString, TimeProvider.System);
        await using var second = new PostgresConsentStore(connectionString, TimeProvider.System);
        var usesBeforeRevocation = 0;
        for (var round = 0; round < 100; round++)
        {
            var consent = NewConsent($"race-{round}");
            await first.InsertAsync(consent, CancellationToken.None);
            var revoked = consent with { Status = ConsentStatus.Revoked, RevokedAt = Now, RevokedBy = "citizen" };
            using var start = new SemaphoreSlim(0);

            // Replica one checks four times in a row while replica two revokes.
            var uses = Task.Run(async () =>
            {
                await start.WaitAsync();
                var counts = new List<long?>();
                for (var i = 0; i < 4; i++)
                {
                    counts.Add(await first.TryCountUseAsync(consent.ConsentId, Now, CancellationToken.None));
                }

                return counts;
            });
            var revoke = Task.Run(async () =>
            {
                await start.WaitAsync();
                return await second.TryChangeStateAsync(consent.ConsentId, ConsentStatus.Authorised, revoked, CancellationToken.None);
            });
            start.Release(2);
            var counts = await uses;

            (await revoke).Should().BeTrue("nothing else changes the consent's state");
            var granted = counts.TakeWhile(c => c is not null).Select(c => c!.Value).ToImmutableArray();
            counts.Skip(granted.Length).Where(c => c is not null).Should().BeEmpty("once refused after the revocation, a use is never counted again");
            granted.Should().Equal(Enumerable.Range(1, granted.Length).Select(n => (long)n), "each counted use is one increment, in order");
            var stored = await second.FindAsync(consent.ConsentId, CancellationToken.None);
            stored!.Status.Should().Be(ConsentStatus.Revoked);
            stored.UsageCount.Should().Be(granted.Length, "every use the check was told of is counted, and no other");
            (await first.TryCountUseAsync(consent.ConsentId, Now, CancellationToken.None)).Should().BeNull();
            usesBeforeRevocation += granted.Length;
        }

        // Which side wins each round is up to the scheduler; the report shows how the rounds went.
        output.WriteLine($"100 rounds: {usesBeforeRevocation} of 400 uses counted before the revocation");
    }

    [Fact]
    public async Task TwoReplicas_RacingAuthorisationAgainstRejection_ExactlyOneWins()
    {
        await using var first = new PostgresConsentStore(connectionString, TimeProvider.System);
        await using var second = new PostgresConsentStore(connectionString, TimeProvider.System);
        var authorisedWins = 0;
        for (var round = 0; round < 100; round++)
        {
            var consent = NewConsent($"answer-{round}", ConsentStatus.AwaitingAuthorisation);
            await first.InsertAsync(consent, CancellationToken.None);
            var authorised = consent with { Status = ConsentStatus.Authorised, AuthorisedAt = Now, SubjectReference = "sr1:x", SealedSubject = [9, 9] };
            var rejected = consent with { Status = ConsentStatus.Rejected, RejectedAt = Now };
            using var start = new SemaphoreSlim(0);
            var authorise = Task.Run(async () =>
            {
                await start.WaitAsync();
                return await first.TryChangeStateAsync(consent.ConsentId, ConsentStatus.AwaitingAuthorisation, authorised, CancellationToken.None);
            });
            var reject = Task.Run(async () =>
            {
                await start.WaitAsync();
                return await second.TryChangeStateAsync(consent.ConsentId, ConsentStatus.AwaitingAuthorisation, rejected, CancellationToken.None);
            });
            start.Release(2);
            var (authorisedWon, rejectedWon) = (await authorise, await reject);

            (authorisedWon ^ rejectedWon).Should().BeTrue($"exactly one answer wins (round {round}: authorise {authorisedWon}, reject {rejectedWon})");
            var stored = await first.FindAsync(consent.ConsentId, CancellationToken.None);
            stored.Should().BeEquivalentTo(authorisedWon ? authorised : rejected, "the stored state is the winner's, whole");
            authorisedWins += authorisedWon ? 1 : 0;
        }

        output.WriteLine($"100 rounds: authorisation won {authorisedWins}, rejection {100 - authorisedWins}");
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
