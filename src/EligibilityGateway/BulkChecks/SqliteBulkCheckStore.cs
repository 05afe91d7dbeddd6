using System.Globalization;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Storage;
using Microsoft.Data.Sqlite;

namespace EligibilityGateway.BulkChecks;

/// <summary>
/// Bulk jobs and their items in one SQLite file (README.md, "Durable state"): WAL, <c>synchronous=FULL</c>, times as
/// UTC ticks. Several gateway processes may share the file: every lease and claim is one statement under SQLite's
/// write lock, and the lease owner is part of every statement that acts on a leased job.
/// </summary>
internal sealed class SqliteBulkCheckStore : IBulkCheckStore
{
    /// <summary>Version of the schema below, in <c>PRAGMA user_version</c>; released versions are never edited.</summary>
    private const int SchemaVersion = 1;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS bulk_jobs (
            job_id TEXT PRIMARY KEY,
            council_id TEXT NOT NULL,
            client_id TEXT NOT NULL,
            scheme_id TEXT NOT NULL,
            lawful_basis TEXT NOT NULL,
            trace_id TEXT,
            status TEXT NOT NULL,
            total INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            started_at INTEGER,
            finished_at INTEGER,
            purge_after INTEGER,
            lease_owner TEXT,
            lease_expires_at INTEGER
        ) STRICT;
        CREATE INDEX IF NOT EXISTS bulk_jobs_open ON bulk_jobs (status, created_at);
        CREATE TABLE IF NOT EXISTS bulk_items (
            job_id TEXT NOT NULL,
            row_number INTEGER NOT NULL,
            check_id TEXT,
            case_reference TEXT,
            sealed_subject BLOB,
            state TEXT NOT NULL,
            outcome TEXT,
            served_from TEXT,
            checked_at INTEGER,
            valid_until INTEGER,
            confirmed_by TEXT,
            audit_sequence INTEGER,
            rule TEXT,
            errors TEXT,
            PRIMARY KEY (job_id, row_number)
        ) STRICT, WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS bulk_items_state ON bulk_items (job_id, state, row_number);
        PRAGMA user_version = 1;
        """;

    private readonly SqliteDatabase database;

    public SqliteBulkCheckStore(string path) => database = new SqliteDatabase("bulk-check", path, TimeSpan.FromSeconds(10));

    public string Location => database.Path;

    public ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        database.Initialize(SchemaVersion, Schema);
        return ValueTask.CompletedTask;
    }

    /// <summary>Stores a new job and every item (valid and invalid) in one transaction.</summary>
    public async Task CreateAsync(BulkJob job, IReadOnlyList<NewBulkItem> items, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var transaction = connection.BeginTransaction();
        await using (var insertJob = connection.CreateCommand())
        {
            insertJob.Transaction = transaction;
            insertJob.CommandText = $"INSERT INTO bulk_jobs ({BulkStoreRows.JobColumns}) VALUES ($id, $council, $client, $scheme, $basis, $trace, $status, $total, $created, NULL, NULL, NULL);";
            insertJob.Parameters.AddWithValue("$id", job.JobId);
            insertJob.Parameters.AddWithValue("$council", job.CouncilId);
            insertJob.Parameters.AddWithValue("$client", job.ClientId);
            insertJob.Parameters.AddWithValue("$scheme", job.SchemeId);
            insertJob.Parameters.AddWithValue("$basis", job.LawfulBasis);
            insertJob.Parameters.AddWithValue("$trace", (object?)job.TraceId ?? DBNull.Value);
            insertJob.Parameters.AddWithValue("$status", job.Status);
            insertJob.Parameters.AddWithValue("$total", job.Total);
            insertJob.Parameters.AddWithValue("$created", job.CreatedAt.UtcTicks);
            await insertJob.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var insertItem = connection.CreateCommand();
        insertItem.Transaction = transaction;
        insertItem.CommandText = """
            INSERT INTO bulk_items (job_id, row_number, check_id, case_reference, sealed_subject, state, errors)
            VALUES ($job, $row, $check, $case, $subject, $state, $errors);
            """;
        var jobId = insertItem.Parameters.Add("$job", SqliteType.Text);
        var row = insertItem.Parameters.Add("$row", SqliteType.Integer);
        var checkId = insertItem.Parameters.Add("$check", SqliteType.Text);
        var caseReference = insertItem.Parameters.Add("$case", SqliteType.Text);
        var subject = insertItem.Parameters.Add("$subject", SqliteType.Blob);
        var state = insertItem.Parameters.Add("$state", SqliteType.Text);
        var errors = insertItem.Parameters.Add("$errors", SqliteType.Text);
        insertItem.Prepare();
        jobId.Value = job.JobId;
        foreach (var item in items)
        {
            row.Value = item.Row;
            checkId.Value = (object?)item.CheckId ?? DBNull.Value;
            caseReference.Value = (object?)item.CaseReference ?? DBNull.Value;
            subject.Value = (object?)item.SealedSubject ?? DBNull.Value;
            state.Value = item.SealedSubject is null ? BulkItemState.Invalid : BulkItemState.Pending;
            errors.Value = (object?)item.Errors ?? DBNull.Value;
            await insertItem.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The job if <paramref name="councilId"/> submitted it (the council is part of the query), else null.</summary>
    public async Task<BulkJob?> FindAsync(string jobId, string councilId, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {BulkStoreRows.JobColumns} FROM bulk_jobs WHERE job_id = $id AND council_id = $council;";
        command.Parameters.AddWithValue("$id", jobId);
        command.Parameters.AddWithValue("$council", councilId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? BulkStoreRows.Job(reader) : null;
    }

    public async Task<BulkCounts> CountAsync(string jobId, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT state, outcome, count(*) FROM bulk_items WHERE job_id = $id GROUP BY state, outcome;";
        command.Parameters.AddWithValue("$id", jobId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var groups = new List<(string State, string? Outcome, int Count)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            groups.Add((reader.GetString(0), BulkStoreRows.Text(reader, 1), reader.GetInt32(2)));
        }

        return BulkCounts.From(groups);
    }

    /// <summary>
    /// Cancels a queued or running job of <paramref name="councilId"/>: its pending items become cancelled and their
    /// sealed subjects are erased; items already handed to a worker finish and are recorded. Returns the job as it is
    /// afterwards, or null when the council has no such job.
    /// </summary>
    public async Task<BulkJob?> CancelAsync(string jobId, string councilId, DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE bulk_jobs SET status = 'cancelled', finished_at = $now, purge_after = $purge
            WHERE job_id = $id AND council_id = $council AND status IN ('queued', 'running');
            """;
        command.Parameters.AddWithValue("$id", jobId);
        command.Parameters.AddWithValue("$council", councilId);
        command.Parameters.AddWithValue("$now", now.UtcTicks);
        command.Parameters.AddWithValue("$purge", (now + retention).UtcTicks);
        if (await command.ExecuteNonQueryAsync(cancellationToken) > 0)
        {
            command.CommandText = "UPDATE bulk_items SET state = 'cancelled', sealed_subject = NULL WHERE job_id = $id AND state = 'pending';";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return await FindAsync(jobId, councilId, cancellationToken);
    }

    /// <summary>
    /// Takes the lease of the oldest open job nobody holds (or whose holder let its lease expire), other than those in
    /// <paramref name="exclude"/>; null when there is none. A cancelled job whose holder died before releasing it is
    /// taken too, so that its claimed items are settled (looked up in the audit log, else marked cancelled).
    /// </summary>
    public async Task<BulkJob?> TryLeaseAsync(string owner, DateTimeOffset now, TimeSpan duration, IReadOnlyCollection<string> exclude, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        var excluded = string.Join(", ", exclude.Select((_, i) => "$x" + i.ToString(CultureInfo.InvariantCulture)));
        command.CommandText = $"""
            UPDATE bulk_jobs SET lease_owner = $owner, lease_expires_at = $expires,
                status = CASE WHEN status = 'cancelled' THEN status ELSE 'running' END, started_at = coalesce(started_at, $now)
            WHERE job_id = (
                SELECT job_id FROM bulk_jobs
                WHERE (status IN ('queued', 'running') OR (status = 'cancelled' AND lease_owner IS NOT NULL))
                  AND (lease_expires_at IS NULL OR lease_expires_at <= $now)
                {(exclude.Count > 0 ? $"AND job_id NOT IN ({excluded})" : "")}
                ORDER BY created_at LIMIT 1)
            RETURNING {BulkStoreRows.JobColumns};
            """;
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$now", now.UtcTicks);
        command.Parameters.AddWithValue("$expires", (now + duration).UtcTicks);
        var index = 0;
        foreach (var id in exclude)
        {
            command.Parameters.AddWithValue("$x" + index++.ToString(CultureInfo.InvariantCulture), id);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? BulkStoreRows.Job(reader) : null;
    }

    /// <summary>Extends the lease if <paramref name="owner"/> still holds it; returns the job's status then, or null when the lease is lost.</summary>
    public async Task<string?> RenewAsync(string jobId, string owner, DateTimeOffset now, TimeSpan duration, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE bulk_jobs SET lease_expires_at = CASE WHEN status = 'running' THEN $expires ELSE lease_expires_at END
            WHERE job_id = $id AND lease_owner = $owner AND lease_expires_at > $now
            RETURNING status;
            """;
        command.Parameters.AddWithValue("$id", jobId);
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$now", now.UtcTicks);
        command.Parameters.AddWithValue("$expires", (now + duration).UtcTicks);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>Items handed to a worker before this lease (a previous holder's): they may already be in the audit log.</summary>
    public Task<IReadOnlyList<ClaimedBulkItem>> ReadClaimedAsync(string jobId, CancellationToken cancellationToken) =>
        ReadItemsAsync(
            "SELECT row_number, check_id, case_reference, sealed_subject FROM bulk_items WHERE job_id = $id AND state = 'claimed' ORDER BY row_number;",
            jobId, null, 0, cancellationToken);

    /// <summary>Hands up to <paramref name="limit"/> pending items, in row order, to the lease holder <paramref name="owner"/>.</summary>
    public Task<IReadOnlyList<ClaimedBulkItem>> ClaimAsync(string jobId, string owner, int limit, CancellationToken cancellationToken) =>
        ReadItemsAsync(
            """
            UPDATE bulk_items SET state = 'claimed'
            WHERE job_id = $id AND state = 'pending'
              AND EXISTS (SELECT 1 FROM bulk_jobs WHERE job_id = $id AND lease_owner = $owner AND status = 'running')
              AND row_number IN (SELECT row_number FROM bulk_items WHERE job_id = $id AND state = 'pending' ORDER BY row_number LIMIT $limit)
            RETURNING row_number, check_id, case_reference, sealed_subject;
            """,
            jobId, owner, limit, cancellationToken);

    private async Task<IReadOnlyList<ClaimedBulkItem>> ReadItemsAsync(string sql, string jobId, string? owner, int limit, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", jobId);
        if (owner is not null)
        {
            command.Parameters.AddWithValue("$owner", owner);
            command.Parameters.AddWithValue("$limit", limit);
        }

        var items = new List<ClaimedBulkItem>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(BulkStoreRows.Claimed(reader));
        }

        items.Sort((a, b) => a.Row.CompareTo(b.Row));
        return items;
    }

    /// <summary>
    /// Writes the results of items whose audit records are committed, in one transaction, and erases their sealed
    /// subjects. Written whatever the job's state: a checked item keeps its result even if the job was cancelled meanwhile.
    /// </summary>
    public async Task WriteResultsAsync(string jobId, IReadOnlyList<BulkItemResult> results, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            UPDATE bulk_items SET state = $state, outcome = $outcome, served_from = $served, checked_at = $checked, valid_until = $valid,
                confirmed_by = $confirmed, audit_sequence = $sequence, rule = $rule, sealed_subject = NULL
            WHERE job_id = $job AND row_number = $row;
            """;
        command.Parameters.AddWithValue("$job", jobId);
        var row = command.Parameters.Add("$row", SqliteType.Integer);
        var state = command.Parameters.Add("$state", SqliteType.Text);
        var outcome = command.Parameters.Add("$outcome", SqliteType.Text);
        var served = command.Parameters.Add("$served", SqliteType.Text);
        var checkedAt = command.Parameters.Add("$checked", SqliteType.Integer);
        var valid = command.Parameters.Add("$valid", SqliteType.Integer);
        var confirmed = command.Parameters.Add("$confirmed", SqliteType.Text);
        var sequence = command.Parameters.Add("$sequence", SqliteType.Integer);
        var rule = command.Parameters.Add("$rule", SqliteType.Text);
        command.Prepare();
        foreach (var result in results)
        {
            row.Value = result.Row;
            state.Value = result.State;
            outcome.Value = (object?)result.Outcome?.ToName() ?? DBNull.Value;
            served.Value = (object?)result.ServedFrom ?? DBNull.Value;
            checkedAt.Value = (object?)result.CheckedAt?.UtcTicks ?? DBNull.Value;
            valid.Value = (object?)result.ValidUntil?.UtcTicks ?? DBNull.Value;
            confirmed.Value = (object?)BulkStoreRows.ConfirmedBy(result) ?? DBNull.Value;
            sequence.Value = (object?)result.AuditSequence ?? DBNull.Value;
            rule.Value = (object?)result.Rule ?? DBNull.Value;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Ends the lease: a running job whose every item is settled becomes completed (retained until
    /// <paramref name="retention"/> from now); claimed items of a cancelled job that no worker took are marked cancelled.
    /// Returns the job's status afterwards, or null if <paramref name="owner"/> no longer held the lease.
    /// </summary>
    public async Task<string?> ReleaseAsync(string jobId, string owner, DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$id", jobId);
        command.Parameters.AddWithValue("$owner", owner);
        command.Parameters.AddWithValue("$now", now.UtcTicks);
        command.Parameters.AddWithValue("$purge", (now + retention).UtcTicks);
        command.CommandText = """
            UPDATE bulk_items SET state = 'cancelled', sealed_subject = NULL
            WHERE job_id = $id AND state = 'claimed'
              AND EXISTS (SELECT 1 FROM bulk_jobs WHERE job_id = $id AND lease_owner = $owner AND status = 'cancelled');
            """;
        await command.ExecuteNonQueryAsync(cancellationToken);
        command.CommandText = """
            UPDATE bulk_jobs SET status = 'completed', finished_at = $now, purge_after = $purge
            WHERE job_id = $id AND lease_owner = $owner AND status = 'running'
              AND NOT EXISTS (SELECT 1 FROM bulk_items WHERE job_id = $id AND state IN ('pending', 'claimed'));
            """;
        await command.ExecuteNonQueryAsync(cancellationToken);
        command.CommandText = "UPDATE bulk_jobs SET lease_owner = NULL, lease_expires_at = NULL WHERE job_id = $id AND lease_owner = $owner RETURNING status;";
        var status = await command.ExecuteScalarAsync(cancellationToken) as string;
        await transaction.CommitAsync(cancellationToken);
        return status;
    }

    /// <summary>Up to <paramref name="limit"/> rows after row <paramref name="afterRow"/>, in row order, whatever their state.</summary>
    public async Task<IReadOnlyList<BulkResultRow>> ReadResultsAsync(string jobId, int afterRow, int limit, CancellationToken cancellationToken)
    {
        var rows = new List<BulkResultRow>(Math.Min(limit, 1000));
        await foreach (var row in StreamResultsAsync(jobId, afterRow, limit, cancellationToken))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Every row after <paramref name="afterRow"/> (up to <paramref name="limit"/>), in row order, from one read snapshot.</summary>
    public async IAsyncEnumerable<BulkResultRow> StreamResultsAsync(
        string jobId, int afterRow, int limit, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT row_number, case_reference, check_id, state, outcome, served_from, checked_at, valid_until, confirmed_by, audit_sequence, rule, errors
            FROM bulk_items WHERE job_id = $id AND row_number > $after ORDER BY row_number LIMIT $limit;
            """;
        command.Parameters.AddWithValue("$id", jobId);
        command.Parameters.AddWithValue("$after", afterRow);
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return BulkStoreRows.Result(reader);
        }
    }

    /// <summary>Deletes every finished job whose retention has passed, with its items; returns how many jobs went.</summary>
    public async Task<int> PurgeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var transaction = connection.BeginTransaction(deferred: false);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = """
            DELETE FROM bulk_items WHERE job_id IN (SELECT job_id FROM bulk_jobs WHERE purge_after IS NOT NULL AND purge_after <= $now);
            DELETE FROM bulk_jobs WHERE purge_after IS NOT NULL AND purge_after <= $now;
            """;
        command.Parameters.AddWithValue("$now", now.UtcTicks);
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    // synchronous=FULL on every connection: a result or a lease the caller has seen is on disk.
    private SqliteConnection Open() => database.Open();
}
