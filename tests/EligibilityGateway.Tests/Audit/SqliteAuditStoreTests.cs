using System.Collections.Immutable;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using Microsoft.Data.Sqlite;

namespace EligibilityGateway.Tests.Audit;

/// <summary>
/// What only the SQLite file does: released fields, schema and its migrations. What every store must do (including
/// per-council isolation of stored checks) is in <see cref="AuditStoreContractTests"/>, run against SQLite and PostgreSQL.
/// </summary>
public sealed class SqliteAuditStoreTests
{
    [Fact]
    public async Task FindCheckAsync_WhenTheSchemeReleasedOnlyTheOutcome_ReturnsNoConfirmedBy()
    {
        await using var audit = await AuditTestLog.CreateAsync();
        await audit.Log.AppendAsync(AuditTestLog.Check(1, "leeds", "chk_minimal") with { ConfirmedBy = null });
        await audit.Log.AppendAsync(AuditTestLog.Check(2, "leeds", "chk_released_empty") with { ConfirmedBy = ImmutableArray<string>.Empty });

        (await audit.Log.FindCheckAsync("chk_minimal", "leeds"))!.ConfirmedBy.Should().BeNull();
        (await audit.Log.FindCheckAsync("chk_released_empty", "leeds"))!.ConfirmedBy.Should().NotBeNull().And.BeEquivalentTo(ImmutableArray<string>.Empty);
    }

    [Fact]
    public async Task Open_OnANewDirectory_CreatesTheSchemaInWalModeAndRecordsItsVersion()
    {
        await using var audit = await AuditTestLog.CreateAsync();

        using var connection = OpenRaw(audit.DatabasePath);
        Scalar(connection, "PRAGMA journal_mode;").Should().Be("wal");
        Scalar(connection, "SELECT group_concat(version) FROM schema_migrations;").Should().Be(string.Join(',', SqliteAuditSchema.Migrations.Select(m => m.Version)));
        Scalar(connection, "SELECT count(*) FROM sqlite_master WHERE name = 'audit_records';").Should().Be(1L);
    }

    [Fact]
    public async Task Open_OnAnExistingDatabase_DoesNotMigrateAgain()
    {
        var directory = Directory.CreateTempSubdirectory("egw-audit-").FullName;
        var first = await AuditTestLog.CreateAsync(directory);
        await first.Log.AppendAsync(AuditTestLog.Check(1));
        await first.CloseAsync();

        await using var second = await AuditTestLog.CreateAsync(directory);

        using var connection = OpenRaw(second.DatabasePath);
        Scalar(connection, "SELECT count(*) FROM schema_migrations;").Should().Be((long)SqliteAuditSchema.Migrations.Count);
        (await second.ReadAllAsync()).Should().ContainSingle();
    }

    [Fact]
    public async Task Open_WhenTheDatabaseWasWrittenByANewerSchema_RefusesToStart()
    {
        var directory = Directory.CreateTempSubdirectory("egw-audit-").FullName;
        var first = await AuditTestLog.CreateAsync(directory);
        using (var connection = OpenRaw(first.DatabasePath))
        {
            Execute(connection, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (99, 'from the future', '2030-01-01T00:00:00.0000000Z');");
        }

        await first.CloseAsync();
        await using var second = await AuditTestLog.CreateAsync(directory, open: false);
        var appendQueuedBeforeStart = second.Log.AppendAsync(AuditTestLog.Check(1)).AsTask();

        await second.Log.Invoking(l => l.OpenAsync(CancellationToken.None)).Should().ThrowAsync<InvalidOperationException>().WithMessage("*schema version 99*");
        (await appendQueuedBeforeStart.Invoking(t => t).Should().ThrowAsync<AuditUnavailableException>()).Which.Reason.Should().Be(AuditUnavailableReason.StartFailed);
    }

    [Fact]
    public async Task AuditRecords_CannotBeUpdatedInPlace()
    {
        await using var audit = await AuditTestLog.CreateAsync();
        await audit.Log.AppendAsync(AuditTestLog.Check(1));

        using var connection = OpenRaw(audit.DatabasePath);
        var update = () => Execute(connection, "UPDATE audit_records SET outcome = 'eligible' WHERE sequence = 1;");

        update.Should().Throw<SqliteException>().WithMessage("*never updated*");
    }

    [Fact]
    public async Task StoredRecord_KeepsTheSubjectReferenceAndNoIdentifier()
    {
        await using var audit = await AuditTestLog.CreateAsync();
        await audit.Log.AppendAsync(AuditTestLog.Check(1));

        var text = string.Concat(Directory.GetFiles(Path.GetDirectoryName(audit.DatabasePath)!, "audit.db*")
            .Select(file => System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(file))));

        text.Should().Contain("sr1:", "the record was written to the log file");
        text.Should().NotContain("AB123456C").And.NotContain("Smith").And.NotContain("1990-01-0");
    }

    private static SqliteConnection OpenRaw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
