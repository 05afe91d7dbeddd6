using Microsoft.Data.Sqlite;

namespace EligibilityGateway.Audit;

/// <summary>
/// The SQLite schema as an ordered list of migrations, each applied once and recorded in <c>schema_migrations</c>.
/// Migrations are only ever appended: a released one is never edited, because databases in the field have run it.
/// </summary>
internal static class SqliteAuditSchema
{
    /// <summary>The migrations, in the order they apply.</summary>
    public static IReadOnlyList<(int Version, string Description, string Sql)> Migrations { get; } =
    [
        (1, "audit records, probe row", """
            CREATE TABLE audit_records (
                sequence          INTEGER PRIMARY KEY,
                format_version    INTEGER NOT NULL,
                recorded_at       TEXT NOT NULL,
                event_type        TEXT NOT NULL,
                council_id        TEXT,
                client_id         TEXT,
                scheme_id         TEXT,
                purpose           TEXT,
                lawful_basis      TEXT,
                consent_id        TEXT,
                case_reference    TEXT,
                decision          TEXT,
                decision_rule     TEXT,
                outcome           TEXT,
                served_from       TEXT,
                provider_calls    TEXT NOT NULL,
                trace_id          TEXT,
                subject_reference TEXT,
                check_id          TEXT,
                checked_at        TEXT,
                valid_until       TEXT,
                released          TEXT,
                framework_id      TEXT,
                framework_version TEXT
            ) STRICT;

            -- GET /v1/checks/{id}; partial, so events without a check id cost the index nothing.
            CREATE INDEX audit_records_by_check ON audit_records (check_id) WHERE check_id IS NOT NULL;

            -- Records are appended, never changed (SPEC §6).
            CREATE TRIGGER audit_records_never_updated BEFORE UPDATE ON audit_records
            BEGIN
                SELECT RAISE(ABORT, 'audit records are never updated');
            END;

            -- One row the readiness probe rewrites to prove the store can commit, outside the audit records.
            CREATE TABLE audit_probe (
                id        INTEGER PRIMARY KEY CHECK (id = 1),
                probed_at TEXT NOT NULL
            ) STRICT;
            """),
    ];

    public static int LatestVersion => Migrations[^1].Version;

    /// <summary>
    /// Brings the database to <see cref="LatestVersion"/> in one immediate transaction (so two processes starting
    /// together do not both migrate) and returns the migrations it applied.
    /// </summary>
    /// <exception cref="InvalidOperationException">The database was written by a newer gateway.</exception>
    public static IReadOnlyList<int> Migrate(SqliteConnection connection, DateTimeOffset now)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        Execute(connection, transaction, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     INTEGER PRIMARY KEY,
                description TEXT NOT NULL,
                applied_at  TEXT NOT NULL
            ) STRICT;
            """);

        long current;
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;";
            current = (long)read.ExecuteScalar()!;
        }

        if (current > LatestVersion)
        {
            throw new InvalidOperationException(
                $"The audit database is at schema version {current}; this gateway knows versions up to {LatestVersion}. Run a gateway at least as new as the one that wrote it.");
        }

        var applied = new List<int>();
        foreach (var (version, description, sql) in Migrations.Where(m => m.Version > current))
        {
            Execute(connection, transaction, sql);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_migrations (version, description, applied_at) VALUES ($version, $description, $appliedAt);";
            record.Parameters.AddWithValue("$version", version);
            record.Parameters.AddWithValue("$description", description);
            record.Parameters.AddWithValue("$appliedAt", AuditRecordFormat.FormatTime(now));
            record.ExecuteNonQuery();
            applied.Add(version);
        }

        transaction.Commit();
        return applied;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
