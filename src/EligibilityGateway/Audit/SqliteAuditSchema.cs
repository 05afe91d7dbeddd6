using Microsoft.Data.Sqlite;

namespace EligibilityGateway.Audit;

/// <summary>
/// The SQLite schema as an ordered list of migrations, each applied once and recorded in <c>schema_migrations</c>.
/// Migrations are only ever appended: a released one is never edited, because databases in the field have run it.
/// </summary>
internal static class SqliteAuditSchema
{
    /// <summary>The migrations, in the order they apply.</summary>
    /// <remarks>
    /// A migration is SQL and, where SQL alone cannot do it, a step in code run after the SQL in the same transaction.
    /// </remarks>
    public static IReadOnlyList<(int Version, string Description, string Sql, Action<SqliteConnection, SqliteTransaction>? Step)> Migrations { get; } =
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

            -- Records are appended, never changed.
            CREATE TRIGGER audit_records_never_updated BEFORE UPDATE ON audit_records
            BEGIN
                SELECT RAISE(ABORT, 'audit records are never updated');
            END;

            -- One row the readiness probe rewrites to prove the store can commit, outside the audit records.
            CREATE TABLE audit_probe (
                id        INTEGER PRIMARY KEY CHECK (id = 1),
                probed_at TEXT NOT NULL
            ) STRICT;
            """, null),
        (2, "hash chain, signed checkpoints", """
            -- README.md, "Chain". Added without NOT NULL because SQLite cannot add such a column to a table that has
            -- rows; the step below fills both for every existing row, and the writer always sets them.
            ALTER TABLE audit_records ADD COLUMN chain_version INTEGER;
            ALTER TABLE audit_records ADD COLUMN hash TEXT;

            CREATE TABLE audit_checkpoints (
                sequence            INTEGER PRIMARY KEY,
                head_hash           TEXT NOT NULL,
                issued_at           TEXT NOT NULL,
                previous_checkpoint INTEGER,
                key_id              TEXT NOT NULL,
                jws                 TEXT NOT NULL
            ) STRICT;

            CREATE TRIGGER audit_checkpoints_never_updated BEFORE UPDATE ON audit_checkpoints
            BEGIN
                SELECT RAISE(ABORT, 'audit checkpoints are never updated');
            END;
            """, ChainExistingRecords),
        (3, "checks by subject reference, for the citizen's activity list", """
            -- The citizen's account lists every check about them, newest first, a page at a time:
            -- ReadSubjectChecksAsync seeks (subject_reference, sequence < cursor) on this index and reads backwards.
            CREATE INDEX audit_records_by_subject ON audit_records (subject_reference, sequence)
                WHERE subject_reference IS NOT NULL AND event_type = 'check';
            """, null),
        (4, "indexes for the auditor API", """
            -- The auditor API (README.md, "Auditor API") walks records by sequence under a filter. A council auditor's
            -- every read is bound to its council, and subject search to one reference over every event type (migration
            -- 3 covers checks only); each walks its own index in sequence order, forwards or backwards. recorded_at
            -- bounds a time range. The other filters (scheme, outcome, ...) select large shares of the log and are
            -- cheaper checked along the sequence walk than indexed on every append.
            CREATE INDEX IF NOT EXISTS audit_records_by_council_sequence ON audit_records (council_id, sequence) WHERE council_id IS NOT NULL;
            CREATE INDEX IF NOT EXISTS audit_records_by_subject_sequence ON audit_records (subject_reference, sequence) WHERE subject_reference IS NOT NULL;
            CREATE INDEX IF NOT EXISTS audit_records_by_recorded_at ON audit_records (recorded_at);
            """, null),
        (5, "drop the checks-only subject index that migration 4's subject index covers", """
            -- Every append updates every index, and a subject reference is a random key, so each of these indexes costs
            -- a random B-tree insertion per record (measured: the append path's largest cost after the commit).
            -- audit_records_by_subject_sequence (migration 4) has the same key over every event type, so the citizen's
            -- activity list seeks it just as well and checks event_type on the few rows it reads.
            DROP INDEX IF EXISTS audit_records_by_subject;
            """, null),
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
        foreach (var (version, description, sql, step) in Migrations.Where(m => m.Version > current))
        {
            Execute(connection, transaction, sql);
            step?.Invoke(connection, transaction);
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

    /// <summary>
    /// Migration 2: records written before the chain existed get their hashes now, in sequence order, exactly as the
    /// writer would have computed them. They were not tamper-evident before this moment, so the chain attests that
    /// they have not changed since the migration, not since they were written (README.md, "Chain").
    /// </summary>
    private static void ChainExistingRecords(SqliteConnection connection, SqliteTransaction transaction)
    {
        // The trigger refuses every UPDATE, so it steps aside for this one transaction and is put back as it was.
        Execute(connection, transaction, "DROP TRIGGER audit_records_never_updated;");
        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE audit_records SET chain_version = $version, hash = $hash WHERE sequence = $sequence;";
        update.Parameters.AddWithValue("$version", AuditChain.CurrentVersion);
        var hash = update.Parameters.Add(new SqliteParameter("$hash", null));
        var sequence = update.Parameters.Add(new SqliteParameter("$sequence", null));

        var scratch = new System.Buffers.ArrayBufferWriter<byte>(1024);
        var previous = AuditChain.Genesis.ToArray();
        var current = new byte[AuditChain.HashBytes];
        var after = 0L;
        while (true)
        {
            // In pages, so that the rows being read are never the rows being updated by the same statement.
            var page = new List<AuditChainRow>(1000);
            using (var read = connection.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = $"SELECT {SqliteAuditStore.ChainColumns} FROM audit_records WHERE sequence > $after ORDER BY sequence LIMIT 1000;";
                read.Parameters.AddWithValue("$after", after);
                using var reader = read.ExecuteReader();
                while (reader.Read())
                {
                    page.Add(SqliteAuditStore.ReadChainRow(reader));
                }
            }

            if (page.Count == 0)
            {
                break;
            }

            foreach (var row in page)
            {
                var values = row.Values.SetItem(AuditChain.ChainVersionIndex, AuditChain.Integer(AuditChain.CurrentVersion));
                AuditChain.ComputeHash(values, previous, scratch, current);
                hash.Value = AuditChain.ToHex(current);
                sequence.Value = row.Sequence;
                update.ExecuteNonQuery();
                (previous, current) = (current, previous);
            }

            after = page[^1].Sequence;
        }

        Execute(connection, transaction, """
            CREATE TRIGGER audit_records_never_updated BEFORE UPDATE ON audit_records
            BEGIN
                SELECT RAISE(ABORT, 'audit records are never updated');
            END;
            """);
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
