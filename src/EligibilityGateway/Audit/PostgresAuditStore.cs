using System.Data;
using System.Runtime.CompilerServices;
using EligibilityGateway.Checks;
using Npgsql;
using NpgsqlTypes;

namespace EligibilityGateway.Audit;

/// <summary>
/// The audit store in PostgreSQL (when <c>Audit:Postgres:ConnectionString</c> is set; README.md), shared by every
/// gateway replica. Each batch is one transaction that locks the single row of <c>audit_head</c>
/// (<c>SELECT … FOR UPDATE</c>), numbers and chains its records after that head, copies them in with binary COPY,
/// signs the checkpoints that fall due, moves the head and commits; appenders in other processes wait on the row
/// lock, so there is one gap-free chain however many replicas append. The commit returns once PostgreSQL has
/// flushed it (<c>synchronous_commit=on</c>, set on every connection). Connections come from a pool per batch, so a
/// broken connection is dropped by the pool and the next batch recovers by itself.
/// </summary>
internal sealed class PostgresAuditStore : IAuditStore
{
    private const string Columns =
        "sequence, format_version, recorded_at, event_type, council_id, client_id, scheme_id, purpose, lawful_basis, consent_id, " +
        "case_reference, decision, decision_rule, outcome, served_from, provider_calls, trace_id, subject_reference, check_id, " +
        "checked_at, valid_until, released, framework_id, framework_version";

    /// <summary>Every column of <c>audit_records</c> in <see cref="AuditChain.AllColumns"/> order.</summary>
    internal const string ChainColumns = Columns + ", chain_version, hash";

    private const string CheckpointColumns = "sequence, head_hash, issued_at, previous_checkpoint, key_id, jws";

    private readonly NpgsqlDataSource dataSource;
    private readonly TimeProvider timeProvider;
    private readonly ILogger logger;
    private readonly AuditCheckpointIssuer? checkpoints;
    private readonly string?[] values = new string?[AuditChain.CanonicalColumns.Length];
    private readonly System.Buffers.ArrayBufferWriter<byte> scratch = new(1024);
    private readonly byte[] previousHash = new byte[AuditChain.HashBytes];
    private readonly byte[] currentHash = new byte[AuditChain.HashBytes];

    /// <param name="connectionString">A secret (it may hold a password): never logged, never in <see cref="Location"/>.</param>
    /// <param name="lockTimeout">How long a batch waits for another replica's lock on the head before it fails.</param>
    /// <param name="checkpoints">Signs checkpoints as records are appended; null for a store that is only read.</param>
    public PostgresAuditStore(string connectionString, TimeSpan lockTimeout, TimeProvider timeProvider, ILogger logger, AuditCheckpointIssuer? checkpoints = null)
    {
        // Durability and bounded waits do not depend on how the server or the role is configured: a commit returns
        // only once flushed (README.md), and a batch stuck behind a lock fails instead of stalling the writer.
        var lockMilliseconds = (long)Math.Ceiling(lockTimeout.TotalMilliseconds);
        dataSource = Storage.PostgresDataSources.Create(connectionString, out var location, $"-c lock_timeout={lockMilliseconds}");
        Location = location;
        this.timeProvider = timeProvider;
        this.logger = logger;
        this.checkpoints = checkpoints;
    }

    public string Kind => "postgresql";

    /// <summary>Host, port and database only: the connection string itself is a secret.</summary>
    public string Location { get; }

    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        foreach (var migration in await PostgresAuditSchema.Schema.MigrateAsync(connection, AuditRecordFormat.FormatTime(timeProvider.GetUtcNow()), cancellationToken))
        {
            Log.MigrationApplied(logger, migration.Version, migration.Description);
        }
    }

    public async ValueTask<long> AppendBatchAsync(IReadOnlyList<AuditEntry> entries, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // The row lock serialises appenders across processes: the head read here cannot change before this commits.
        var (headSequence, headHash) = await LockHeadAsync(connection, cancellationToken);
        if (!AuditChain.TryParseHex(headHash, previousHash))
        {
            throw new InvalidOperationException($"Audit record {headSequence} has no valid hash, so the chain cannot be continued.");
        }

        var mark = checkpoints is null ? null : await ReadLastCheckpointAsync(connection, cancellationToken);
        var signed = new List<AuditCheckpoint>();
        var first = headSequence + 1;
        var recordedAtText = AuditRecordFormat.FormatTime(recordedAt);
        var hashText = headHash;
        await using (var importer = await connection.BeginBinaryImportAsync($"COPY audit_records ({ChainColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken))
        {
            for (var i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                var sequence = first + i;
                AuditRecordFormat.WriteStoredValues(values, sequence, recordedAtText, entry);

                // hash = SHA-256(canonical(record) || previous hash), README.md "Chain": the same text as SQLite stores.
                AuditChain.ComputeHash(values, previousHash, scratch, currentHash);
                hashText = AuditChain.ToHex(currentHash);
                currentHash.CopyTo(previousHash, 0);

                await importer.StartRowAsync(cancellationToken);
                await importer.WriteAsync(sequence, NpgsqlDbType.Bigint, cancellationToken);
                await importer.WriteAsync(AuditRecordFormat.CurrentVersion, NpgsqlDbType.Integer, cancellationToken);
                for (var column = 2; column < AuditChain.ChainVersionIndex; column++)
                {
                    if (values[column] is { } text)
                    {
                        await importer.WriteAsync(text, NpgsqlDbType.Text, cancellationToken);
                    }
                    else
                    {
                        await importer.WriteNullAsync(cancellationToken);
                    }
                }

                await importer.WriteAsync(AuditChain.CurrentVersion, NpgsqlDbType.Integer, cancellationToken);
                await importer.WriteAsync(hashText, NpgsqlDbType.Text, cancellationToken);

                if (checkpoints is not null && sequence - (mark?.Sequence ?? 0) >= checkpoints.EveryRecords)
                {
                    // Count-based checkpoints fall on exact multiples of EveryRecords after the previous one, mid-batch if need be.
                    var checkpoint = checkpoints.Sign(sequence, hashText, recordedAt, mark?.Sequence);
                    signed.Add(checkpoint);
                    mark = new AuditCheckpointMark(checkpoint.Sequence, checkpoint.IssuedAt);
                }
            }

            await importer.CompleteAsync(cancellationToken);
        }

        var last = first + entries.Count - 1;
        if (checkpoints is not null && checkpoints.IsDue(last, mark, recordedAt, force: false))
        {
            signed.Add(checkpoints.Sign(last, hashText, recordedAt, mark?.Sequence));
        }

        foreach (var checkpoint in signed)
        {
            await InsertCheckpointAsync(connection, checkpoint, cancellationToken);
        }

        if (entries.Count > 0)
        {
            await using var move = new NpgsqlCommand("UPDATE audit_head SET sequence = $1, hash = $2 WHERE id = 1;", connection);
            move.Parameters.Add(new NpgsqlParameter<long> { TypedValue = last });
            move.Parameters.Add(new NpgsqlParameter<string> { TypedValue = hashText });
            await move.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return first;
    }

    public async ValueTask<AuditCheckpoint?> CheckpointAsync(DateTimeOffset now, bool force, CancellationToken cancellationToken)
    {
        if (checkpoints is null)
        {
            return null;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var (headSequence, headHash) = await LockHeadAsync(connection, cancellationToken);
        var mark = await ReadLastCheckpointAsync(connection, cancellationToken);
        if (!checkpoints.IsDue(headSequence, mark, now, force))
        {
            return null;
        }

        var checkpoint = checkpoints.Sign(headSequence, headHash, now, mark?.Sequence);
        await InsertCheckpointAsync(connection, checkpoint, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return checkpoint;
    }

    public async IAsyncEnumerable<AuditChainRow> ReadChainAsync(long fromSequence, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // One repeatable-read, read-only transaction over the whole walk: one snapshot however long it takes, so
        // records committed meanwhile neither appear half-way nor shift the walk.
        await using var connection = await OpenForReadingAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        await using (var readOnly = new NpgsqlCommand("SET TRANSACTION READ ONLY;", connection))
        {
            await readOnly.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var command = new NpgsqlCommand($"SELECT {ChainColumns} FROM audit_records WHERE sequence >= $1 ORDER BY sequence;", connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fromSequence });
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return ReadChainRow(reader);
        }
    }

    /// <summary>A row as stored: every value as text (integers in decimal), in <see cref="AuditChain.CanonicalColumns"/> order.</summary>
    internal static AuditChainRow ReadChainRow(NpgsqlDataReader reader)
    {
        var stored = new string?[AuditChain.CanonicalColumns.Length];
        for (var i = 0; i < stored.Length; i++)
        {
            stored[i] = reader.IsDBNull(i) ? null : reader.GetValue(i) switch
            {
                long number => AuditChain.Integer(number),
                int number => AuditChain.Integer(number),
                string text => text,
                var other => Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture),
            };
        }

        var hashOrdinal = AuditChain.CanonicalColumns.Length;
        var hash = reader.IsDBNull(hashOrdinal) ? null : reader.GetString(hashOrdinal);
        return new AuditChainRow(long.Parse(stored[0]!, System.Globalization.CultureInfo.InvariantCulture), [.. stored], hash);
    }

    public async ValueTask<IReadOnlyList<AuditCheckpoint>> ReadCheckpointsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenForReadingAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT {CheckpointColumns} FROM audit_checkpoints ORDER BY sequence;", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<AuditCheckpoint>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new AuditCheckpoint(
                reader.GetInt64(0),
                reader.GetString(1),
                AuditRecordFormat.ParseTime(reader.GetString(2)),
                reader.IsDBNull(3) ? null : reader.GetInt64(3),
                reader.GetString(4),
                reader.GetString(5)));
        }

        return list;
    }

    public async ValueTask<StoredCheck?> FindCheckAsync(string checkId, string councilId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkId);
        ArgumentNullException.ThrowIfNull(councilId);
        var records = await ReadRecordsAsync(
            // The council is part of the key: another council's check is indistinguishable from no check.
            $"""
            SELECT {Columns} FROM audit_records
            WHERE check_id = $1 AND council_id = $2 AND event_type = '{AuditEventTypes.Check}'
              AND decision = '{AuditDecisions.Allow}' AND outcome IS NOT NULL
            ORDER BY sequence LIMIT 1;
            """,
            [new NpgsqlParameter<string> { TypedValue = checkId }, new NpgsqlParameter<string> { TypedValue = councilId }],
            cancellationToken);
        if (records.Count == 0)
        {
            return null;
        }

        return StoredCheck.From(records[0]);
    }

    public async ValueTask<IReadOnlyList<AuditRecord>> ReadAsync(long fromSequence, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await ReadRecordsAsync(
            $"SELECT {Columns} FROM audit_records WHERE sequence >= $1 ORDER BY sequence LIMIT $2;",
            [new NpgsqlParameter<long> { TypedValue = fromSequence }, new NpgsqlParameter<long> { TypedValue = limit }],
            cancellationToken);
    }

    public async ValueTask<IReadOnlyList<AuditRecord>> ReadSubjectChecksAsync(string subjectReference, long? beforeSequence, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subjectReference);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return await ReadRecordsAsync(
            // audit_records_by_subject matches this WHERE, so the read is an index scan backwards from the cursor.
            $"""
            SELECT {Columns} FROM audit_records
            WHERE subject_reference = $1 AND event_type = '{AuditEventTypes.Check}' AND sequence < $2
            ORDER BY sequence DESC LIMIT $3;
            """,
            [
                new NpgsqlParameter<string> { TypedValue = subjectReference },
                new NpgsqlParameter<long> { TypedValue = beforeSequence ?? long.MaxValue },
                new NpgsqlParameter<long> { TypedValue = limit },
            ],
            cancellationToken);
    }

    public async ValueTask<IReadOnlyList<AuditChainRow>> QueryAsync(AuditQuery query, AuditPageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(page);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(page.Limit);
        var descending = page.Order == AuditOrder.Descending;
        var parameters = new List<NpgsqlParameter>();
        var conditions = Conditions(query, parameters);
        if (page.After is { } after)
        {
            parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
            conditions.Insert(0, $"sequence {(descending ? "<" : ">")} ${parameters.Count}");
        }

        parameters.Add(new NpgsqlParameter<long> { TypedValue = page.Limit });
        var sql = $"SELECT {ChainColumns} FROM audit_records{Where(conditions)} ORDER BY sequence {(descending ? "DESC" : "ASC")} LIMIT ${parameters.Count};";
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.AddRange(parameters.ToArray());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var rows = new List<AuditChainRow>();
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(ReadChainRow(reader));
            }

            return rows;
        }
        catch (NpgsqlException ex)
        {
            throw new AuditUnavailableException(AuditUnavailableReason.ReadFailed, $"The audit store cannot be read: {ex.Message}", ex);
        }
    }

    public async IAsyncEnumerable<AuditChainRow> StreamAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var parameters = new List<NpgsqlParameter>();
        var conditions = Conditions(query, parameters);

        // One repeatable-read snapshot, streamed row by row: flat memory however large the export.
        await using var connection = await OpenForReadingAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
        await using var command = new NpgsqlCommand($"SELECT {ChainColumns} FROM audit_records{Where(conditions)} ORDER BY sequence;", connection);
        command.Parameters.AddRange(parameters.ToArray());
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            yield return ReadChainRow(reader);
        }
    }

    public async ValueTask<IReadOnlyList<AuditDailyCount>> CountPerDayAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var parameters = new List<NpgsqlParameter>();
        var conditions = Conditions(query, parameters);
        try
        {
            // recorded_at is fixed-width UTC text (never a timestamptz, see README.md), so its first ten characters are the UTC day.
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var command = new NpgsqlCommand($"SELECT left(recorded_at, 10), council_id, outcome, count(*) FROM audit_records{Where(conditions)} GROUP BY 1, 2, 3;", connection);
            command.Parameters.AddRange(parameters.ToArray());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var counts = new List<AuditDailyCount>();
            while (await reader.ReadAsync(cancellationToken))
            {
                counts.Add(new AuditDailyCount(AuditDailyCount.DayOf(reader.GetString(0)), AuditRecordFormat.Text(reader, 1), AuditRecordFormat.Text(reader, 2), reader.GetInt64(3)));
            }

            return AuditDailyCount.Ordered(counts);
        }
        catch (NpgsqlException ex)
        {
            throw new AuditUnavailableException(AuditUnavailableReason.ReadFailed, $"The audit store cannot be read: {ex.Message}", ex);
        }
    }

    /// <summary>The IAuditStore.QueryAsync conditions of <paramref name="query"/>, each bound as a positional parameter.</summary>
    private static List<string> Conditions(AuditQuery query, List<NpgsqlParameter> parameters)
    {
        var conditions = new List<string>();
        void Add(string column, string? value, string comparison = "=", string collation = "")
        {
            if (value is not null)
            {
                parameters.Add(new NpgsqlParameter<string> { TypedValue = value });
                conditions.Add($"{column}{collation} {comparison} ${parameters.Count}");
            }
        }

        // The scope is a condition of the query itself, never a filter applied afterwards (IAuditStore.QueryAsync).
        Add("council_id", query.ScopeCouncilId);
        Add("council_id", query.CouncilId);

        // Fixed-width UTC text orders as the instants do when compared byte-wise, whatever the database's collation.
        Add("recorded_at", query.From is { } from ? AuditRecordFormat.FormatTime(from) : null, ">=", " COLLATE \"C\"");
        Add("recorded_at", query.To is { } to ? AuditRecordFormat.FormatTime(to) : null, "<", " COLLATE \"C\"");
        Add("scheme_id", query.SchemeId);
        Add("outcome", query.Outcome);
        Add("decision", query.Decision);
        Add("lawful_basis", query.LawfulBasis);
        Add("consent_id", query.ConsentId);
        Add("event_type", query.EventType);
        Add("subject_reference", query.SubjectReference);
        return conditions;
    }

    private static string Where(List<string> conditions) => conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", conditions);

    public async ValueTask<long> DeleteThroughCheckpointAsync(long checkpointSequence, CancellationToken cancellationToken)
    {
        try
        {
            // Not under the head lock: the rows it deletes lie below the head, so appenders carry on meanwhile.
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var command = new NpgsqlCommand(
                "SELECT (SELECT count(*) FROM audit_checkpoints WHERE sequence = $1), (SELECT sequence FROM audit_head WHERE id = 1);", connection);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpointSequence });
            long anchors;
            long head;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                (anchors, head) = (reader.GetInt64(0), reader.IsDBNull(1) ? 0 : reader.GetInt64(1));
            }

            if (anchors != 1)
            {
                throw new InvalidOperationException($"There is no checkpoint at sequence {checkpointSequence}; records are purged only up to a signed checkpoint.");
            }

            if (head <= checkpointSequence)
            {
                throw new InvalidOperationException($"Sequence {checkpointSequence} is the head of the log; the purge event must follow the purged records.");
            }

            await using var delete = new NpgsqlCommand("DELETE FROM audit_records WHERE sequence <= $1;", connection);
            delete.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpointSequence });
            long deleted = await delete.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return deleted;
        }
        catch (NpgsqlException ex)
        {
            throw new AuditUnavailableException(AuditUnavailableReason.CommitFailed, $"The audit store could not purge: {ex.Message}", ex);
        }
    }

    public async ValueTask<long> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var (head, _) = await LockHeadAsync(connection, cancellationToken);
            await using var command = new NpgsqlCommand(
                "INSERT INTO audit_probe (id, probed_at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at;", connection);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AuditRecordFormat.FormatTime(timeProvider.GetUtcNow()) });
            await command.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return head;
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            throw new AuditUnavailableException(AuditUnavailableReason.CommitFailed, $"The audit store cannot commit: {ex.Message}", ex);
        }
    }

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();

    private static async Task<(long Sequence, string Hash)> LockHeadAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT sequence, hash FROM audit_head WHERE id = 1 FOR UPDATE;", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            throw new InvalidOperationException("The audit database has no head row; it was not created by this gateway's migrations.");
        }

        return (reader.GetInt64(0), reader.GetString(1));
    }

    private static async Task<AuditCheckpointMark?> ReadLastCheckpointAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT sequence, issued_at FROM audit_checkpoints ORDER BY sequence DESC LIMIT 1;", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new AuditCheckpointMark(reader.GetInt64(0), AuditRecordFormat.ParseTime(reader.GetString(1)))
            : null;
    }

    private static async Task InsertCheckpointAsync(NpgsqlConnection connection, AuditCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"INSERT INTO audit_checkpoints ({CheckpointColumns}) VALUES ($1, $2, $3, $4, $5, $6);", connection);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = checkpoint.Sequence });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = checkpoint.HeadHash });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = AuditRecordFormat.FormatTime(checkpoint.IssuedAt) });
        command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = (object?)checkpoint.PreviousCheckpoint ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = checkpoint.KeyId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = checkpoint.Jws });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<NpgsqlConnection> OpenForReadingAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (NpgsqlException ex)
        {
            throw new AuditUnavailableException(AuditUnavailableReason.ReadFailed, $"The audit store cannot be read: {ex.Message}", ex);
        }
    }

    private async Task<IReadOnlyList<AuditRecord>> ReadRecordsAsync(string sql, NpgsqlParameter[] parameters, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.AddRange(parameters);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var records = new List<AuditRecord>();
            while (await reader.ReadAsync(cancellationToken))
            {
                records.Add(AuditRecordFormat.ReadRecord(reader));
            }

            return records;
        }
        catch (NpgsqlException ex)
        {
            throw new AuditUnavailableException(AuditUnavailableReason.ReadFailed, $"The audit store cannot be read: {ex.Message}", ex);
        }
    }
}
