using System.Globalization;
using System.Runtime.CompilerServices;
using EligibilityGateway.Checks;
using EligibilityGateway.Storage;
using Npgsql;
using NpgsqlTypes;
using static EligibilityGateway.Storage.PostgresDataSources;

namespace EligibilityGateway.BulkChecks;

/// <summary>
/// Bulk jobs and their items in PostgreSQL (when <c>BulkChecks:Postgres:ConnectionString</c> is set; README.md,
/// "Durable state"), shared by every gateway replica: a job submitted to one is read, cancelled and run by any, and a
/// job whose replica died is taken up by another once its lease has expired. The statements are those of
/// <see cref="SqliteBulkCheckStore"/>, where SQLite's single writer made them atomic made so here by row locks under
/// read committed: taking a lease and claiming items are each one <c>UPDATE … RETURNING</c> over a sub-select with
/// <c>FOR UPDATE SKIP LOCKED</c>, so two replicas racing for a job or its items never get the same one (a row
/// another replica has locked is skipped, and one it has just changed is re-checked against the <c>WHERE</c>); a
/// claim locks the job row <c>FOR SHARE</c> with its owner and status in the condition, so it cannot interleave with a
/// lease changing hands or a cancellation. Statements that lock both a job and its items take the job first, and a
/// batch of results updates its rows in row order, so two writers cannot deadlock. Times are UTC ticks
/// (<c>bigint</c>), as in SQLite and the PostgreSQL consent store; every connection runs with
/// <c>synchronous_commit=on</c>.
/// </summary>
internal sealed class PostgresBulkCheckStore(string connectionString, TimeProvider timeProvider)
    : PostgresStore(connectionString, Schema, timeProvider), IBulkCheckStore
{
    /// <summary>The advisory lock key that serialises bulk-check migrations between replicas starting together.</summary>
    private const long MigrationLock = 0x6567_775f_6275_6c6b; // "egw_bulk"

    /// <summary>The bulk-check schema in PostgreSQL, recorded in <c>bulk_check_schema_migrations</c>; steps are only appended.</summary>
    internal static PostgresMigrations Schema { get; } = new("bulk-check", "bulk_check_schema_migrations", MigrationLock,
    [
        new(1, "bulk jobs with leases, and their items with sealed subjects and results", """
            CREATE TABLE bulk_jobs (
                job_id           text PRIMARY KEY,
                council_id       text NOT NULL,
                client_id        text NOT NULL,
                scheme_id        text NOT NULL,
                lawful_basis     text NOT NULL,
                trace_id         text,
                status           text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'cancelled')),
                total            integer NOT NULL,
                created_at       bigint NOT NULL,
                started_at       bigint,
                finished_at      bigint,
                purge_after      bigint,
                lease_owner      text,
                lease_expires_at bigint
            );

            -- Replicas look for the oldest open job; the purge for jobs past their retention.
            CREATE INDEX bulk_jobs_open ON bulk_jobs (status, created_at);
            CREATE INDEX bulk_jobs_purge ON bulk_jobs (purge_after) WHERE purge_after IS NOT NULL;

            CREATE TABLE bulk_items (
                job_id         text NOT NULL,
                row_number     integer NOT NULL,
                check_id       text,
                case_reference text,
                sealed_subject bytea,
                state          text NOT NULL CHECK (state IN ('pending', 'claimed', 'completed', 'failed', 'invalid', 'cancelled')),
                outcome        text,
                served_from    text,
                checked_at     bigint,
                valid_until    bigint,
                confirmed_by   text,
                audit_sequence bigint,
                rule           text,
                errors         text,
                PRIMARY KEY (job_id, row_number)
            );

            -- Claims take pending items in row order; counts group by state.
            CREATE INDEX bulk_items_state ON bulk_items (job_id, state, row_number);
            """),
    ]);

    public async Task CreateAsync(BulkJob job, IReadOnlyList<NewBulkItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(items);
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insertJob = new NpgsqlCommand(
            $"INSERT INTO bulk_jobs ({BulkStoreRows.JobColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, NULL);", connection, transaction))
        {
            var p = insertJob.Parameters;
            p.Add(Text(job.JobId));
            p.Add(Text(job.CouncilId));
            p.Add(Text(job.ClientId));
            p.Add(Text(job.SchemeId));
            p.Add(Text(job.LawfulBasis));
            p.Add(Text(job.TraceId));
            p.Add(Text(job.Status));
            p.Add(new NpgsqlParameter<int> { TypedValue = job.Total });
            p.Add(Ticks(job.CreatedAt));
            await insertJob.ExecuteNonQueryAsync(cancellationToken);
        }

        // Up to 10,000 rows: one binary COPY rather than a round trip per row.
        await using (var importer = await connection.BeginBinaryImportAsync(
            "COPY bulk_items (job_id, row_number, check_id, case_reference, sealed_subject, state, errors) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            foreach (var item in items)
            {
                await importer.StartRowAsync(cancellationToken);
                await importer.WriteAsync(job.JobId, NpgsqlDbType.Text, cancellationToken);
                await importer.WriteAsync(item.Row, NpgsqlDbType.Integer, cancellationToken);
                await WriteOrNullAsync(importer, item.CheckId, NpgsqlDbType.Text, cancellationToken);
                await WriteOrNullAsync(importer, item.CaseReference, NpgsqlDbType.Text, cancellationToken);
                await WriteOrNullAsync(importer, item.SealedSubject, NpgsqlDbType.Bytea, cancellationToken);
                await importer.WriteAsync(item.SealedSubject is null ? BulkItemState.Invalid : BulkItemState.Pending, NpgsqlDbType.Text, cancellationToken);
                await WriteOrNullAsync(importer, item.Errors, NpgsqlDbType.Text, cancellationToken);
            }

            await importer.CompleteAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<BulkJob?> FindAsync(string jobId, string councilId, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand($"SELECT {BulkStoreRows.JobColumns} FROM bulk_jobs WHERE job_id = $1 AND council_id = $2;");
        command.Parameters.Add(Text(jobId));
        command.Parameters.Add(Text(councilId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? BulkStoreRows.Job(reader) : null;
    }

    public async Task<BulkCounts> CountAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand("SELECT state, outcome, count(*)::integer FROM bulk_items WHERE job_id = $1 GROUP BY state, outcome;");
        command.Parameters.Add(Text(jobId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var groups = new List<(string State, string? Outcome, int Count)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            groups.Add((reader.GetString(0), BulkStoreRows.Text(reader, 1), reader.GetInt32(2)));
        }

        return BulkCounts.From(groups);
    }

    public async Task<BulkJob?> CancelAsync(string jobId, string councilId, DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken)
    {
        await using (var connection = await DataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            // The job row first (a claim waits on it, then finds the job cancelled), then its pending items.
            await using var cancel = new NpgsqlCommand("""
                UPDATE bulk_jobs SET status = 'cancelled', finished_at = $3, purge_after = $4
                WHERE job_id = $1 AND council_id = $2 AND status IN ('queued', 'running');
                """, connection, transaction);
            cancel.Parameters.Add(Text(jobId));
            cancel.Parameters.Add(Text(councilId));
            cancel.Parameters.Add(Ticks(now));
            cancel.Parameters.Add(Ticks(now + retention));
            if (await cancel.ExecuteNonQueryAsync(cancellationToken) > 0)
            {
                await using var items = new NpgsqlCommand(
                    "UPDATE bulk_items SET state = 'cancelled', sealed_subject = NULL WHERE job_id = $1 AND state = 'pending';", connection, transaction);
                items.Parameters.Add(Text(jobId));
                await items.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return await FindAsync(jobId, councilId, cancellationToken);
    }

    public async Task<BulkJob?> TryLeaseAsync(string owner, DateTimeOffset now, TimeSpan duration, IReadOnlyCollection<string> exclude, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(exclude);

        // SKIP LOCKED: a job another replica is taking right now is passed over, not waited for; one it has just taken
        // is re-checked against the lease condition (repeated outside for the same reason) and no longer qualifies.
        await using var command = DataSource.CreateCommand($"""
            UPDATE bulk_jobs SET lease_owner = $1, lease_expires_at = $3,
                status = CASE WHEN status = 'cancelled' THEN status ELSE 'running' END, started_at = coalesce(started_at, $2)
            WHERE job_id = (
                SELECT job_id FROM bulk_jobs
                WHERE (status IN ('queued', 'running') OR (status = 'cancelled' AND lease_owner IS NOT NULL))
                  AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
                  AND NOT (job_id = ANY ($4))
                ORDER BY created_at LIMIT 1
                FOR UPDATE SKIP LOCKED)
              AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
            RETURNING {BulkStoreRows.JobColumns};
            """);
        command.Parameters.Add(Text(owner));
        command.Parameters.Add(Ticks(now));
        command.Parameters.Add(Ticks(now + duration));
        command.Parameters.Add(new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, TypedValue = [.. exclude] });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? BulkStoreRows.Job(reader) : null;
    }

    public async Task<string?> RenewAsync(string jobId, string owner, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand("""
            UPDATE bulk_jobs SET lease_expires_at = CASE WHEN status = 'running' THEN $4 ELSE lease_expires_at END
            WHERE job_id = $1 AND lease_owner = $2 AND lease_expires_at > $3
            RETURNING status;
            """);
        command.Parameters.Add(Text(jobId));
        command.Parameters.Add(Text(owner));
        command.Parameters.Add(Ticks(now));
        command.Parameters.Add(Ticks(now + duration));
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task<IReadOnlyList<ClaimedBulkItem>> ReadClaimedAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var command = DataSource.CreateCommand(
            $"SELECT {BulkStoreRows.ClaimedColumns} FROM bulk_items WHERE job_id = $1 AND state = 'claimed' ORDER BY row_number;");
        command.Parameters.Add(Text(jobId));
        return await ReadClaimedItemsAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<ClaimedBulkItem>> ClaimAsync(string jobId, string owner, int limit, CancellationToken cancellationToken)
    {
        // FOR SHARE on the job: a lease changing hands or a cancellation (both update the job row) waits for this claim
        // or makes it find nothing; FOR UPDATE SKIP LOCKED on the items: two claimers never lock the same row.
        await using var command = DataSource.CreateCommand($"""
            WITH lease AS (
                SELECT job_id FROM bulk_jobs WHERE job_id = $1 AND lease_owner = $2 AND status = 'running' FOR SHARE
            ), picked AS (
                SELECT row_number FROM bulk_items
                WHERE job_id = (SELECT job_id FROM lease) AND state = 'pending'
                ORDER BY row_number LIMIT $3
                FOR UPDATE SKIP LOCKED
            )
            UPDATE bulk_items SET state = 'claimed'
            WHERE job_id = $1 AND state = 'pending' AND row_number IN (SELECT row_number FROM picked)
            RETURNING {BulkStoreRows.ClaimedColumns};
            """);
        command.Parameters.Add(Text(jobId));
        command.Parameters.Add(Text(owner));
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        return await ReadClaimedItemsAsync(command, cancellationToken);
    }

    public async Task WriteResultsAsync(string jobId, IReadOnlyList<BulkItemResult> results, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(results);
        if (results.Count == 0)
        {
            return;
        }

        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction);

        // In row order, so that two writers of overlapping rows (a replica that lost its lease and the one that took
        // it over) lock them in the same order and cannot deadlock.
        foreach (var result in results.OrderBy(r => r.Row))
        {
            var command = new NpgsqlBatchCommand("""
                UPDATE bulk_items SET state = $3, outcome = $4, served_from = $5, checked_at = $6, valid_until = $7,
                    confirmed_by = $8, audit_sequence = $9, rule = $10, sealed_subject = NULL
                WHERE job_id = $1 AND row_number = $2;
                """);
            var p = command.Parameters;
            p.Add(Text(jobId));
            p.Add(new NpgsqlParameter<int> { TypedValue = result.Row });
            p.Add(Text(result.State));
            p.Add(Text(result.Outcome?.ToName()));
            p.Add(Text(result.ServedFrom));
            p.Add(Ticks(result.CheckedAt));
            p.Add(Ticks(result.ValidUntil));
            p.Add(Text(BulkStoreRows.ConfirmedBy(result)));
            p.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)result.AuditSequence ?? DBNull.Value });
            p.Add(Text(result.Rule));
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<string?> ReleaseAsync(string jobId, string owner, DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken)
    {
        await using var connection = await DataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // The job row first, as everywhere else: while this holds it, nobody cancels it or takes its lease.
        await using (var held = new NpgsqlCommand("SELECT status FROM bulk_jobs WHERE job_id = $1 AND lease_owner = $2 FOR UPDATE;", connection, transaction))
        {
            held.Parameters.Add(Text(jobId));
            held.Parameters.Add(Text(owner));
            if (await held.ExecuteScalarAsync(cancellationToken) is not string)
            {
                return null;
            }
        }

        await using (var settle = new NpgsqlBatch(connection, transaction))
        {
            settle.BatchCommands.Add(LeaseCommand("""
                UPDATE bulk_items SET state = 'cancelled', sealed_subject = NULL
                WHERE job_id = $1 AND state = 'claimed'
                  AND EXISTS (SELECT 1 FROM bulk_jobs WHERE job_id = $1 AND lease_owner = $2 AND status = 'cancelled');
                """, jobId, owner));
            var complete = LeaseCommand("""
                UPDATE bulk_jobs SET status = 'completed', finished_at = $3, purge_after = $4
                WHERE job_id = $1 AND lease_owner = $2 AND status = 'running'
                  AND NOT EXISTS (SELECT 1 FROM bulk_items WHERE job_id = $1 AND state IN ('pending', 'claimed'));
                """, jobId, owner);
            complete.Parameters.Add(Ticks(now));
            complete.Parameters.Add(Ticks(now + retention));
            settle.BatchCommands.Add(complete);
            await settle.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var release = new NpgsqlCommand(
            "UPDATE bulk_jobs SET lease_owner = NULL, lease_expires_at = NULL WHERE job_id = $1 AND lease_owner = $2 RETURNING status;", connection, transaction);
        release.Parameters.Add(Text(jobId));
        release.Parameters.Add(Text(owner));
        var status = await release.ExecuteScalarAsync(cancellationToken) as string;
        await transaction.CommitAsync(cancellationToken);
        return status;
    }

    public async Task<IReadOnlyList<BulkResultRow>> ReadResultsAsync(string jobId, int afterRow, int limit, CancellationToken cancellationToken)
    {
        var rows = new List<BulkResultRow>(Math.Min(limit, 1000));
        await foreach (var row in StreamResultsAsync(jobId, afterRow, limit, cancellationToken))
        {
            rows.Add(row);
        }

        return rows;
    }

    public async IAsyncEnumerable<BulkResultRow> StreamResultsAsync(string jobId, int afterRow, int limit, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // One statement, so one snapshot, however long the caller takes to read it.
        await using var command = DataSource.CreateCommand(
            $"SELECT {BulkStoreRows.ResultColumns} FROM bulk_items WHERE job_id = $1 AND row_number > $2 ORDER BY row_number LIMIT $3;");
        command.Parameters.Add(Text(jobId));
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = afterRow });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return BulkStoreRows.Result(reader);
        }
    }

    public async Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        // One statement (a snapshot for both deletes); items go with their job, counted as SQLite counts them.
        await using var command = DataSource.CreateCommand("""
            WITH jobs AS (
                DELETE FROM bulk_jobs WHERE purge_after IS NOT NULL AND purge_after <= $1 RETURNING job_id
            ), items AS (
                DELETE FROM bulk_items WHERE job_id IN (SELECT job_id FROM jobs) RETURNING 1
            )
            SELECT (SELECT count(*) FROM jobs) + (SELECT count(*) FROM items);
            """);
        command.Parameters.Add(Ticks(now));
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }


    private static NpgsqlBatchCommand LeaseCommand(string sql, string jobId, string owner)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(Text(jobId));
        command.Parameters.Add(Text(owner));
        return command;
    }

    private static async Task<IReadOnlyList<ClaimedBulkItem>> ReadClaimedItemsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var items = new List<ClaimedBulkItem>();
        await using (command)
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                items.Add(BulkStoreRows.Claimed(reader));
            }
        }

        // RETURNING gives no order.
        items.Sort((a, b) => a.Row.CompareTo(b.Row));
        return items;
    }

    private static Task WriteOrNullAsync<T>(NpgsqlBinaryImporter importer, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
        where T : class =>
        value is null ? importer.WriteNullAsync(cancellationToken) : importer.WriteAsync(value, type, cancellationToken);
}
