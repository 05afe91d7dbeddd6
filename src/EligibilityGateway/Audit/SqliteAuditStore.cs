using EligibilityGateway.Checks;
using Microsoft.Data.Sqlite;

namespace EligibilityGateway.Audit;

/// <summary>
/// The audit store in one SQLite file (SPEC §2 default): WAL journal, <c>synchronous=FULL</c> so that a commit
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

    private const string InsertSql =
        $"INSERT INTO audit_records ({Columns}) VALUES ($sequence, $format_version, $recorded_at, $event_type, $council_id, $client_id, " +
        "$scheme_id, $purpose, $lawful_basis, $consent_id, $case_reference, $decision, $decision_rule, $outcome, $served_from, " +
        "$provider_calls, $trace_id, $subject_reference, $check_id, $checked_at, $valid_until, $released, $framework_id, $framework_version);";

    private readonly string path;
    private readonly string createConnectionString;
    private readonly string writeConnectionString;
    private readonly string readConnectionString;
    private readonly TimeProvider timeProvider;
    private readonly ILogger logger;
    private readonly int busyTimeoutMilliseconds;
    private SqliteConnection? writer;
    private SqliteCommand? lastSequence;
    private SqliteCommand? insert;

    public SqliteAuditStore(string path, TimeSpan busyTimeout, TimeProvider timeProvider, ILogger logger)
    {
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
    }

    public string Kind => "sqlite";

    public string Location => path;

    public ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
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
        // BEGIN IMMEDIATE takes the write lock first, so the highest sequence read below cannot change before commit.
        using var transaction = writer!.BeginTransaction(deferred: false);
        lastSequence!.Transaction = transaction;
        var first = (long)lastSequence.ExecuteScalar()! + 1;

        insert!.Transaction = transaction;
        var parameters = insert.Parameters;
        var recordedAtText = AuditRecordFormat.FormatTime(recordedAt);
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            parameters[0].Value = first + i;
            parameters[1].Value = AuditRecordFormat.CurrentVersion;
            parameters[2].Value = recordedAtText;
            parameters[3].Value = entry.EventType;
            parameters[4].Value = Nullable(entry.CouncilId);
            parameters[5].Value = Nullable(entry.ClientId);
            parameters[6].Value = Nullable(entry.SchemeId);
            parameters[7].Value = Nullable(entry.Purpose);
            parameters[8].Value = Nullable(entry.LawfulBasis);
            parameters[9].Value = Nullable(entry.ConsentId);
            parameters[10].Value = Nullable(entry.CaseReference);
            parameters[11].Value = Nullable(entry.Decision);
            parameters[12].Value = Nullable(entry.Rule);
            parameters[13].Value = Nullable(entry.Outcome?.ToName());
            parameters[14].Value = Nullable(entry.ServedFrom);
            parameters[15].Value = AuditRecordFormat.FormatProviderCalls(entry.ProviderCalls);
            parameters[16].Value = Nullable(entry.TraceId);
            parameters[17].Value = Nullable(entry.SubjectReference);
            parameters[18].Value = Nullable(entry.CheckId);
            parameters[19].Value = Nullable(entry.CheckedAt is { } checkedAt ? AuditRecordFormat.FormatTime(checkedAt) : null);
            parameters[20].Value = Nullable(entry.ValidUntil is { } validUntil ? AuditRecordFormat.FormatTime(validUntil) : null);
            parameters[21].Value = Nullable(AuditRecordFormat.FormatReleased(entry));
            parameters[22].Value = Nullable(entry.FrameworkId);
            parameters[23].Value = Nullable(entry.FrameworkVersion);
            insert.ExecuteNonQuery();
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

    public ValueTask<StoredCheck?> FindCheckAsync(string checkId, string councilId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkId);
        ArgumentNullException.ThrowIfNull(councilId);
        return ValueTask.FromResult(Read(connection =>
        {
            using var command = connection.CreateCommand();
            // The council is part of the key: another council's check is indistinguishable from no check (SPEC §4.2).
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

            var record = ReadRecord(reader);
            var entry = record.Entry;
            return new StoredCheck(
                entry.CheckId!,
                entry.CouncilId!,
                entry.SchemeId!,
                entry.Outcome!.Value,
                entry.CheckedAt!.Value,
                entry.ValidUntil!.Value,
                entry.ServedFrom!,
                entry.LawfulBasis!,
                entry.ConsentId,
                entry.CaseReference,
                entry.ConfirmedBy,
                entry.ProviderCalls,
                record.Sequence);
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
            using var reader = command.ExecuteReader();
            var records = new List<AuditRecord>();
            while (reader.Read())
            {
                records.Add(ReadRecord(reader));
            }

            return records;
        }));
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
            var last = connection.CreateCommand();
            last.CommandText = "SELECT COALESCE(MAX(sequence), 0) FROM audit_records;";
            last.Prepare();

            var command = connection.CreateCommand();
            command.CommandText = InsertSql;
            foreach (var name in Columns.Split(", "))
            {
                command.Parameters.Add(new SqliteParameter("$" + name, null));
            }

            // One compiled statement for every row of every batch.
            command.Prepare();
            writer = connection;
            lastSequence = last;
            insert = command;
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
        lastSequence?.Dispose();
        writer?.Dispose();
        insert = null;
        lastSequence = null;
        writer = null;
    }

    private SqliteConnection OpenForWriting(string connectionString)
    {
        var connection = Open(connectionString);
        try
        {
            using var pragmas = connection.CreateCommand();
            // WAL lets readers run beside the writer; synchronous=FULL syncs the log on every commit, so a
            // committed batch survives power loss, not only a process crash (SPEC §6, §12).
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

    private static AuditRecord ReadRecord(SqliteDataReader reader)
    {
        var entry = new AuditEntry
        {
            EventType = reader.GetString(3),
            CouncilId = Text(reader, 4),
            ClientId = Text(reader, 5),
            SchemeId = Text(reader, 6),
            Purpose = Text(reader, 7),
            LawfulBasis = Text(reader, 8),
            ConsentId = Text(reader, 9),
            CaseReference = Text(reader, 10),
            Decision = Text(reader, 11),
            Rule = Text(reader, 12),
            Outcome = Text(reader, 13) is { } outcome ? AuditRecordFormat.ParseOutcome(outcome) : null,
            ServedFrom = Text(reader, 14),
            ProviderCalls = AuditRecordFormat.ParseProviderCalls(reader.GetString(15)),
            TraceId = Text(reader, 16),
            SubjectReference = Text(reader, 17),
            CheckId = Text(reader, 18),
            CheckedAt = Text(reader, 19) is { } checkedAt ? AuditRecordFormat.ParseTime(checkedAt) : null,
            ValidUntil = Text(reader, 20) is { } validUntil ? AuditRecordFormat.ParseTime(validUntil) : null,
            ConfirmedBy = AuditRecordFormat.ParseConfirmedBy(Text(reader, 21)),
            FrameworkId = Text(reader, 22),
            FrameworkVersion = Text(reader, 23),
        };
        return new AuditRecord(reader.GetInt64(0), AuditRecordFormat.ParseTime(reader.GetString(2)), reader.GetInt32(1), entry);
    }

    private static string? Text(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static object Nullable(string? value) => (object?)value ?? DBNull.Value;
}
