using EligibilityGateway.Checks;
using EligibilityGateway.Security;
using Microsoft.Data.Sqlite;

namespace EligibilityGateway.Audit;

/// <summary>
/// The audit store in one SQLite file (the default; README.md): WAL journal, <c>synchronous=FULL</c> so that a commit
/// has reached the disk before it returns, one long-lived connection for the single writer and pooled connections
/// for reads. After a failed batch the writer's connection is thrown away and the next batch opens a fresh one,
/// so the store recovers by itself once the obstacle goes; it reopens without create, so a database file that
/// vanished is reported, never silently replaced by an empty one.
/// </summary>
internal sealed class SqliteAuditStore : IAuditStore
{
    private const string Columns =
        "sequence, format_version, recorded_at, event_type, council_id, client_id, scheme_id, purpose, lawful_basis, consent_id, " +
        "case_reference, decision, decision_rule, outcome, served_from, provider_calls, trace_id, subject_reference, check_id, " +
        "checked_at, valid_until, released, framework_id, framework_version";

    /// <summary>Every column of <c>audit_records</c> in <see cref="AuditChain.AllColumns"/> order, for chain reads and export.</summary>
    internal const string ChainColumns = Columns + ", chain_version, hash";

    private const string InsertSql =
        $"INSERT INTO audit_records ({ChainColumns}) VALUES ($sequence, $format_version, $recorded_at, $event_type, $council_id, $client_id, " +
        "$scheme_id, $purpose, $lawful_basis, $consent_id, $case_reference, $decision, $decision_rule, $outcome, $served_from, " +
        "$provider_calls, $trace_id, $subject_reference, $check_id, $checked_at, $valid_until, $released, $framework_id, $framework_version, " +
        "$chain_version, $hash);";

    private const string CheckpointColumns = "sequence, head_hash, issued_at, previous_checkpoint, key_id, jws";

    private readonly string path;
    private readonly string createConnectionString;
    private readonly string writeConnectionString;
    private readonly string readConnectionString;
    private readonly string chainConnectionString;
    private readonly TimeProvider timeProvider;
    private readonly ILogger logger;
    private readonly int busyTimeoutMilliseconds;
    private readonly AuditCheckpointIssuer? checkpoints;
    private readonly string?[] values = new string?[AuditChain.CanonicalColumns.Length];
    private readonly System.Buffers.ArrayBufferWriter<byte> scratch = new(1024);
    private readonly byte[] previousHash = new byte[AuditChain.HashBytes];
    private readonly byte[] currentHash = new byte[AuditChain.HashBytes];
    private SqliteConnection? writer;
    private SqliteCommand? head;
    private SqliteCommand? lastCheckpoint;
    private SqliteCommand? insert;
    private SqliteCommand? insertCheckpoint;

    /// <param name="checkpoints">Signs checkpoints as records are appended; null for a store that is only read (the CLI).</param>
    public SqliteAuditStore(string path, TimeSpan busyTimeout, TimeProvider timeProvider, ILogger logger, AuditCheckpointIssuer? checkpoints = null)
    {
        this.checkpoints = checkpoints;
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        this.path = Path.GetFullPath(path);
        this.timeProvider = timeProvider;
        this.logger = logger;

        // Microsoft.Data.Sqlite retries a busy database until the command timeout, in whole seconds.
        var timeoutSeconds = (int)Math.Ceiling(busyTimeout.TotalSeconds);
        busyTimeoutMilliseconds = timeoutSeconds * 1000;
        var builder = new SqliteConnectionStringBuilder { DataSource = this.path, DefaultTimeout = timeoutSeconds, Pooling = false, Mode = SqliteOpenMode.ReadWriteCreate };
        createConnectionString = builder.ToString();
        builder.Mode = SqliteOpenMode.ReadWrite;
        writeConnectionString = builder.ToString();
        builder.Pooling = true;
        readConnectionString = builder.ToString();
        builder.Pooling = false;
        builder.Mode = SqliteOpenMode.ReadOnly;
        chainConnectionString = builder.ToString();
    }

    public string Kind => "sqlite";

    public string Location => path;

    public ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        PrivateFiles.EnsureFile(path);
        using (var connection = Open(createConnectionString))
        {
            foreach (var version in SqliteAuditSchema.Migrate(connection, timeProvider.GetUtcNow()))
            {
                Log.MigrationApplied(logger, version, SqliteAuditSchema.Migrations.Single(m => m.Version == version).Description);
            }
        }

        OpenWriter();
        return ValueTask.CompletedTask;
    }

    public ValueTask<long> AppendBatchAsync(IReadOnlyList<AuditEntry> entries, DateTimeOffset recordedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        try
        {
            if (writer is null)
            {
                OpenWriter();
            }

            return ValueTask.FromResult(WriteBatch(entries, recordedAt));
        }
        catch
        {
            // Whatever failed, start the next batch on a fresh connection: a connection that saw an I/O error, or
            // whose file was moved, is not trusted again.
            CloseWriter();
            throw;
        }
    }

    private long WriteBatch(IReadOnlyList<AuditEntry> entries, DateTimeOffset recordedAt)
    {
        // BEGIN IMMEDIATE takes the write lock first, so the head read below cannot change before commit: the
        // sequence and the previous hash come from the same committed state, also when another process shares the file.
        using var transaction = writer!.BeginTransaction(deferred: false);
        var (headSequence, headHash) = ReadHead(transaction);
        var first = headSequence + 1;
        if (!AuditChain.TryParseHex(headHash, previousHash))
        {
            throw new InvalidOperationException($"Audit record {headSequence} has no valid hash, so the chain cannot be continued.");
        }

        var mark = checkpoints is null ? null : ReadLastCheckpoint(transaction);
        insert!.Transaction = transaction;
        var parameters = insert.Parameters;
        var recordedAtText = AuditRecordFormat.FormatTime(recordedAt);
        string hashText = headHash!;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            var sequence = first + i;
            AuditRecordFormat.WriteStoredValues(values, sequence, recordedAtText, entry);

            // hash = SHA-256(canonical(record) || previous hash), README.md "Chain".
            AuditChain.ComputeHash(values, previousHash, scratch, currentHash);
            hashText = AuditChain.ToHex(currentHash);
            currentHash.CopyTo(previousHash, 0);

            parameters[0].Value = sequence;
            parameters[1].Value = AuditRecordFormat.CurrentVersion;
            for (var column = 2; column < AuditChain.ChainVersionIndex; column++)
            {
                parameters[column].Value = Nullable(values[column]);
            }

            parameters[AuditChain.ChainVersionIndex].Value = AuditChain.CurrentVersion;
            parameters[AuditChain.ChainVersionIndex + 1].Value = hashText;
            insert.ExecuteNonQuery();

            if (checkpoints is not null && sequence - (mark?.Sequence ?? 0) >= checkpoints.EveryRecords)
            {
                // Count-based checkpoints fall on exact multiples of EveryRecords after the previous one, mid-batch if need be.
                mark = InsertCheckpoint(transaction, checkpoints.Sign(sequence, hashText, recordedAt, mark?.Sequence));
            }
        }

        var last = first + entries.Count - 1;
        if (checkpoints is not null && checkpoints.IsDue(last, mark, recordedAt, force: false))
        {
            InsertCheckpoint(transaction, checkpoints.Sign(last, hashText, recordedAt, mark?.Sequence));
        }

        transaction.Commit();

        // An open connection keeps writing to a database file that has been deleted (its directory removed, a
        // volume wiped), and SQLite reports success. Such a batch is lost, so it must not count as recorded.
        if (!File.Exists(path))
        {
            throw new IOException($"The audit database '{path}' no longer exists; the batch was not recorded.");
        }

        return first;
    }

    public ValueTask<AuditCheckpoint?> CheckpointAsync(DateTimeOffset now, bool force, CancellationToken cancellationToken)
    {
        if (checkpoints is null)
        {
            return ValueTask.FromResult<AuditCheckpoint?>(null);
        }

        try
        {
            if (writer is null)
            {
                OpenWriter();
            }

            using var transaction = writer!.BeginTransaction(deferred: false);
            var (headSequence, headHash) = ReadHead(transaction);
            var mark = ReadLastCheckpoint(transaction);
            if (!checkpoints.IsDue(headSequence, mark, now, force))
            {
                return ValueTask.FromResult<AuditCheckpoint?>(null);
            }

            var checkpoint = checkpoints.Sign(headSequence, headHash!, now, mark?.Sequence);
            InsertCheckpoint(transaction, checkpoint);
            transaction.Commit();
            return ValueTask.FromResult<AuditCheckpoint?>(checkpoint);
        }
        catch
        {
            CloseWriter();
            throw;
        }
    }

    public async IAsyncEnumerable<AuditChainRow> ReadChainAsync(long fromSequence, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // One read transaction over the whole walk: a reader in WAL mode sees one snapshot however long it takes, so
        // records committed meanwhile neither appear half-way nor shift the walk. Read-only: verification and export
        // must work on a copied file and must never change it.
        using var connection = OpenForReading();
        using var transaction = connection.BeginTransaction(deferred: true);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {ChainColumns} FROM audit_records WHERE sequence >= $from ORDER BY sequence;";
        command.Parameters.AddWithValue("$from", fromSequence);
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ReadChainRow(reader);
        }
    }

    public ValueTask<IReadOnlyList<AuditCheckpoint>> ReadCheckpointsAsync(CancellationToken cancellationToken)
    {
        using var connection = OpenForReading();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {CheckpointColumns} FROM audit_checkpoints ORDER BY sequence;";
        using var reader = command.ExecuteReader();
        var list = new List<AuditCheckpoint>();
        while (reader.Read())
        {
            list.Add(new AuditCheckpoint(
                reader.GetInt64(0),
                reader.GetString(1),
                AuditRecordFormat.ParseTime(reader.GetString(2)),
                reader.IsDBNull(3) ? null : reader.GetInt64(3),
                reader.GetString(4),
                reader.GetString(5)));
        }

        return ValueTask.FromResult<IReadOnlyList<AuditCheckpoint>>(list);
    }

    /// <summary>A row as stored: every value as text (integers in decimal), in <see cref="AuditChain.CanonicalColumns"/> order.</summary>
    internal static AuditChainRow ReadChainRow(SqliteDataReader reader)
    {
        var stored = new string?[AuditChain.CanonicalColumns.Length];
        for (var i = 0; i < stored.Length; i++)
        {
            stored[i] = reader.IsDBNull(i) ? null : reader.GetValue(i) switch
            {
                long number => AuditChain.Integer(number),
                string text => text,
                byte[] blob => Convert.ToHexStringLower(blob),
                var other => Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture),
            };
        }

        var hashOrdinal = AuditChain.CanonicalColumns.Length;
        return new AuditChainRow(reader.GetInt64(0), [.. stored], reader.IsDBNull(hashOrdinal) ? null : reader.GetValue(hashOrdinal) as string);
    }

    public ValueTask<StoredCheck?> FindCheckAsync(string checkId, string councilId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkId);
        ArgumentNullException.ThrowIfNull(councilId);
        return ValueTask.FromResult(Read(connection =>
        {
            using var command = connection.CreateCommand();
            // The council is part of the key: another council's check is indistinguishable from no check.
            command.CommandText = $"""
                SELECT {Columns} FROM audit_records
                WHERE check_id = $checkId AND council_id = $councilId AND event_type = '{AuditEventTypes.Check}'
                  AND decision = '{AuditDecisions.Allow}' AND outcome IS NOT NULL
                ORDER BY sequence LIMIT 1;
                """;
            command.Parameters.AddWithValue("$checkId", checkId);
            command.Parameters.AddWithValue("$councilId", councilId);
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            return StoredCheck.From(AuditRecordFormat.ReadRecord(reader));
        }));
    }

    public ValueTask<IReadOnlyList<AuditRecord>> ReadAsync(long fromSequence, int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return ValueTask.FromResult(Read<IReadOnlyList<AuditRecord>>(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT {Columns} FROM audit_records WHERE sequence >= $from ORDER BY sequence LIMIT $limit;";
            command.Parameters.AddWithValue("$from", fromSequence);
            command.Parameters.AddWithValue("$limit", limit);
            return ReadRecords(command);
        }));
    }

    public ValueTask<IReadOnlyList<AuditRecord>> ReadSubjectChecksAsync(string subjectReference, long? beforeSequence, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subjectReference);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        return ValueTask.FromResult(Read<IReadOnlyList<AuditRecord>>(connection =>
        {
            using var command = connection.CreateCommand();
            // audit_records_by_subject_sequence (migration 4) seeks (subject_reference, sequence < cursor) backwards; the
            // event type is checked on the rows it reads (a person's non-check events are few).
            command.CommandText = $"""
                SELECT {Columns} FROM audit_records
                WHERE subject_reference = $subjectReference AND event_type = '{AuditEventTypes.Check}' AND sequence < $before
                ORDER BY sequence DESC LIMIT $limit;
                """;
            command.Parameters.AddWithValue("$subjectReference", subjectReference);
            command.Parameters.AddWithValue("$before", beforeSequence ?? long.MaxValue);
            command.Parameters.AddWithValue("$limit", limit);
            return ReadRecords(command);
        }));
    }

    public ValueTask<IReadOnlyList<AuditChainRow>> QueryAsync(AuditQuery query, AuditPageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(page);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(page.Limit);
        return ValueTask.FromResult(Read<IReadOnlyList<AuditChainRow>>(connection =>
        {
            using var command = connection.CreateCommand();
            var descending = page.Order == AuditOrder.Descending;
            var conditions = Conditions(query, command);
            if (page.After is { } after)
            {
                conditions.Add(descending ? "sequence < $after" : "sequence > $after");
                command.Parameters.AddWithValue("$after", after);
            }

            command.CommandText = $"SELECT {ChainColumns} FROM audit_records{Where(conditions)} ORDER BY sequence {(descending ? "DESC" : "ASC")} LIMIT $limit;";
            command.Parameters.AddWithValue("$limit", page.Limit);
            using var reader = command.ExecuteReader();
            var rows = new List<AuditChainRow>(Math.Min(page.Limit, 512));
            while (reader.Read())
            {
                rows.Add(ReadChainRow(reader));
            }

            return rows;
        }));
    }

    public async IAsyncEnumerable<AuditChainRow> StreamAsync(AuditQuery query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);

        // As ReadChainAsync: one read transaction, so the export is one snapshot however long the client takes.
        using var connection = OpenForReading();
        using var transaction = connection.BeginTransaction(deferred: true);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        var conditions = Conditions(query, command);
        command.CommandText = $"SELECT {ChainColumns} FROM audit_records{Where(conditions)} ORDER BY sequence;";
        using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (reader.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ReadChainRow(reader);
        }
    }

    public ValueTask<IReadOnlyList<AuditDailyCount>> CountPerDayAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return ValueTask.FromResult(Read(connection =>
        {
            using var command = connection.CreateCommand();
            var conditions = Conditions(query, command);

            // recorded_at is fixed-width UTC text, so its first ten characters are the UTC day.
            command.CommandText = $"SELECT substr(recorded_at, 1, 10), council_id, outcome, count(*) FROM audit_records{Where(conditions)} GROUP BY 1, 2, 3;";
            using var reader = command.ExecuteReader();
            var counts = new List<AuditDailyCount>();
            while (reader.Read())
            {
                counts.Add(new AuditDailyCount(AuditDailyCount.DayOf(reader.GetString(0)), AuditRecordFormat.Text(reader, 1), AuditRecordFormat.Text(reader, 2), reader.GetInt64(3)));
            }

            return AuditDailyCount.Ordered(counts);
        }));
    }

    /// <summary>The IAuditStore.QueryAsync conditions of <paramref name="query"/>, each bound as a parameter of <paramref name="command"/>.</summary>
    private static List<string> Conditions(AuditQuery query, SqliteCommand command)
    {
        var conditions = new List<string>();
        void Equal(string column, string? value)
        {
            if (value is not null)
            {
                var name = "$" + column;
                conditions.Add($"{column} = {name}");
                command.Parameters.AddWithValue(name, value);
            }
        }

        if (query.ScopeCouncilId is { } scope)
        {
            conditions.Add("council_id = $scope");
            command.Parameters.AddWithValue("$scope", scope);
        }

        Equal("council_id", query.CouncilId);
        Equal("scheme_id", query.SchemeId);
        Equal("outcome", query.Outcome);
        Equal("decision", query.Decision);
        Equal("lawful_basis", query.LawfulBasis);
        Equal("consent_id", query.ConsentId);
        Equal("event_type", query.EventType);
        Equal("subject_reference", query.SubjectReference);

        // recorded_at is fixed-width UTC text (AuditRecordFormat), so text order is time order.
        if (query.From is { } from)
        {
            conditions.Add("recorded_at >= $from");
            command.Parameters.AddWithValue("$from", AuditRecordFormat.FormatTime(from));
        }

        if (query.To is { } to)
        {
            conditions.Add("recorded_at < $to");
            command.Parameters.AddWithValue("$to", AuditRecordFormat.FormatTime(to));
        }

        return conditions;
    }

    private static string Where(List<string> conditions) => conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", conditions);

    public ValueTask<long> DeleteThroughCheckpointAsync(long checkpointSequence, CancellationToken cancellationToken)
    {
        try
        {
            // A connection of its own, like the probe: the writer's stays with the writer. BEGIN IMMEDIATE waits for
            // the writer's lock (busy timeout), so the checks below and the delete see one committed state.
            using var connection = OpenForWriting(writeConnectionString);
            using var transaction = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                SELECT (SELECT COUNT(*) FROM audit_checkpoints WHERE sequence = $through),
                       (SELECT COALESCE(MAX(sequence), 0) FROM audit_records);
                """;
            command.Parameters.AddWithValue("$through", checkpointSequence);
            long anchors;
            long head;
            using (var reader = command.ExecuteReader())
            {
                reader.Read();
                (anchors, head) = (reader.GetInt64(0), reader.GetInt64(1));
            }

            if (anchors != 1)
            {
                throw new InvalidOperationException($"There is no checkpoint at sequence {checkpointSequence}; records are purged only up to a signed checkpoint.");
            }

            if (head <= checkpointSequence)
            {
                throw new InvalidOperationException($"Sequence {checkpointSequence} is the head of the log; the purge event must follow the purged records.");
            }

            command.CommandText = "DELETE FROM audit_records WHERE sequence <= $through;";
            long deleted = command.ExecuteNonQuery();
            transaction.Commit();
            if (!File.Exists(path))
            {
                throw new IOException($"The audit database '{path}' no longer exists.");
            }

            return ValueTask.FromResult(deleted);
        }
        catch (Exception ex) when (ex is SqliteException or IOException)
        {
            throw new AuditUnavailableException(AuditUnavailableReason.CommitFailed, $"The audit store could not purge: {ex.Message}", ex);
        }
    }

    public ValueTask<long> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var connection = OpenForWriting(writeConnectionString);
            using var transaction = connection.BeginTransaction(deferred: false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO audit_probe (id, probed_at) VALUES (1, $at) ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at;
                SELECT COALESCE(MAX(sequence), 0) FROM audit_records;
                """;
            command.Parameters.AddWithValue("$at", AuditRecordFormat.FormatTime(timeProvider.GetUtcNow()));
            var last = (long)command.ExecuteScalar()!;
            transaction.Commit();
            return ValueTask.FromResult(last);
        }
        catch (Exception ex) when (ex is SqliteException or InvalidOperationException or IOException)
        {
            throw new AuditUnavailableException(AuditUnavailableReason.CommitFailed, $"The audit store cannot commit: {ex.Message}", ex);
        }
    }

    public ValueTask DisposeAsync()
    {
        CloseWriter();
        using (var pooled = new SqliteConnection(readConnectionString))
        {
            // Pooled read connections hold the file open; release them with the store.
            SqliteConnection.ClearPool(pooled);
        }

        return ValueTask.CompletedTask;
    }

    private void OpenWriter()
    {
        var connection = OpenForWriting(writeConnectionString);
        try
        {
            var headCommand = connection.CreateCommand();
            headCommand.CommandText = "SELECT sequence, hash FROM audit_records ORDER BY sequence DESC LIMIT 1;";
            headCommand.Prepare();

            var lastCheckpointCommand = connection.CreateCommand();
            lastCheckpointCommand.CommandText = "SELECT sequence, issued_at FROM audit_checkpoints ORDER BY sequence DESC LIMIT 1;";
            lastCheckpointCommand.Prepare();

            var command = connection.CreateCommand();
            command.CommandText = InsertSql;
            foreach (var name in ChainColumns.Split(", "))
            {
                command.Parameters.Add(new SqliteParameter("$" + name, null));
            }

            // One compiled statement for every row of every batch.
            command.Prepare();

            var checkpointCommand = connection.CreateCommand();
            checkpointCommand.CommandText = $"INSERT INTO audit_checkpoints ({CheckpointColumns}) VALUES ($sequence, $head_hash, $issued_at, $previous_checkpoint, $key_id, $jws);";
            foreach (var name in CheckpointColumns.Split(", "))
            {
                checkpointCommand.Parameters.Add(new SqliteParameter("$" + name, null));
            }

            checkpointCommand.Prepare();
            writer = connection;
            head = headCommand;
            lastCheckpoint = lastCheckpointCommand;
            insert = command;
            insertCheckpoint = checkpointCommand;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void CloseWriter()
    {
        insert?.Dispose();
        insertCheckpoint?.Dispose();
        head?.Dispose();
        lastCheckpoint?.Dispose();
        writer?.Dispose();
        insert = null;
        insertCheckpoint = null;
        head = null;
        lastCheckpoint = null;
        writer = null;
    }

    /// <summary>The highest committed sequence and its hash; (0, genesis) for an empty log.</summary>
    private (long Sequence, string? Hash) ReadHead(SqliteTransaction transaction)
    {
        head!.Transaction = transaction;
        using var reader = head.ExecuteReader();
        return reader.Read()
            ? (reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1))
            : (0, AuditChain.GenesisHex);
    }

    private AuditCheckpointMark? ReadLastCheckpoint(SqliteTransaction transaction)
    {
        lastCheckpoint!.Transaction = transaction;
        using var reader = lastCheckpoint.ExecuteReader();
        return reader.Read() ? new AuditCheckpointMark(reader.GetInt64(0), AuditRecordFormat.ParseTime(reader.GetString(1))) : null;
    }

    private AuditCheckpointMark InsertCheckpoint(SqliteTransaction transaction, AuditCheckpoint checkpoint)
    {
        insertCheckpoint!.Transaction = transaction;
        var parameters = insertCheckpoint.Parameters;
        parameters[0].Value = checkpoint.Sequence;
        parameters[1].Value = checkpoint.HeadHash;
        parameters[2].Value = AuditRecordFormat.FormatTime(checkpoint.IssuedAt);
        parameters[3].Value = (object?)checkpoint.PreviousCheckpoint ?? DBNull.Value;
        parameters[4].Value = checkpoint.KeyId;
        parameters[5].Value = checkpoint.Jws;
        insertCheckpoint.ExecuteNonQuery();
        return new AuditCheckpointMark(checkpoint.Sequence, checkpoint.IssuedAt);
    }

    private SqliteConnection OpenForReading()
    {
        try
        {
            return Open(chainConnectionString);
        }
        catch (SqliteException ex)
        {
            throw new AuditUnavailableException(AuditUnavailableReason.ReadFailed, $"The audit store cannot be read: {ex.Message}", ex);
        }
    }

    private SqliteConnection OpenForWriting(string connectionString)
    {
        var connection = Open(connectionString);
        try
        {
            using var pragmas = connection.CreateCommand();
            // WAL lets readers run beside the writer; synchronous=FULL syncs the log on every commit, so a
            // committed batch survives power loss, not only a process crash (README.md, "Durability rule").
            pragmas.CommandText = "PRAGMA journal_mode = WAL;";
            var mode = (string?)pragmas.ExecuteScalar();
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException($"The audit database would not switch to WAL (journal mode '{mode}').");
            }

            pragmas.CommandText = "PRAGMA synchronous = FULL;";
            pragmas.ExecuteNonQuery();

            // SQLite's own busy handler waits in steps of a few milliseconds; without it the driver's retry loop
            // sleeps far longer between attempts, so a readiness probe holding the lock briefly would stall the writer.
            pragmas.CommandText = $"PRAGMA busy_timeout = {busyTimeoutMilliseconds};";
            pragmas.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        try
        {
            connection.Open();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private T Read<T>(Func<SqliteConnection, T> query)
    {
        try
        {
            using var connection = Open(readConnectionString);
            return query(connection);
        }
        catch (SqliteException ex)
        {
            throw new AuditUnavailableException(AuditUnavailableReason.ReadFailed, $"The audit store cannot be read: {ex.Message}", ex);
        }
    }

    private static List<AuditRecord> ReadRecords(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var records = new List<AuditRecord>();
        while (reader.Read())
        {
            records.Add(AuditRecordFormat.ReadRecord(reader));
        }

        return records;
    }

    private static object Nullable(string? value) => (object?)value ?? DBNull.Value;
}
