namespace EligibilityGateway.Audit;

/// <summary>
/// A storage engine for the audit log: SQLite today (<see cref="SqliteAuditStore"/>). The group-commit writer in
/// <see cref="AuditLog"/> is the only caller of <see cref="AppendBatchAsync"/>, one batch at a time; reads and
/// probes may run concurrently with it.
/// </summary>
internal interface IAuditStore : IAsyncDisposable
{
    /// <summary>A short name for health reports and logs (e.g. <c>sqlite</c>).</summary>
    string Kind { get; }

    /// <summary>Where the records live, for health reports and logs; holds no secret.</summary>
    string Location { get; }

    /// <summary>Creates or migrates the schema and opens the store for writing.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="entries"/> in one transaction, all or nothing, numbering them in list order after the
    /// highest sequence already committed (read inside the transaction, so numbering stays gap-free even if another
    /// process shares the store), and returns the first sequence. Throws if the transaction did not commit.
    /// In the same transaction it chains each record to the one before (README.md, "Chain") and signs the
    /// checkpoints that fall due, so that one chain and one checkpoint sequence result however many processes append.
    /// </summary>
    ValueTask<long> AppendBatchAsync(IReadOnlyList<AuditEntry> entries, DateTimeOffset recordedAt, CancellationToken cancellationToken);

    /// <summary>
    /// Signs a checkpoint over the current head in a transaction of its own if one is due at <paramref name="now"/>
    /// (by interval; with <paramref name="force"/>, whenever a record is unsigned). Returns it, or null when none was
    /// due or the store signs none. Called by the writer only, like <see cref="AppendBatchAsync"/>.
    /// </summary>
    ValueTask<AuditCheckpoint?> CheckpointAsync(DateTimeOffset now, bool force, CancellationToken cancellationToken);

    /// <summary>
    /// Retention purge (README.md, "Retention"): in one transaction, deletes every record with a sequence up to
    /// <paramref name="checkpointSequence"/>, which must be the sequence of a stored checkpoint (the anchor the rest of
    /// the chain verifies from) and below the head (the purge event that declares the removal comes after it).
    /// Checkpoints are kept. Returns how many records were deleted (0 when they already were). Callable beside the
    /// writer, on a connection of its own.
    /// </summary>
    /// <exception cref="InvalidOperationException">No checkpoint at that sequence, or it is the head.</exception>
    ValueTask<long> DeleteThroughCheckpointAsync(long checkpointSequence, CancellationToken cancellationToken);

    /// <summary>Every record from <paramref name="fromSequence"/> on, as stored, in sequence order, streamed from one snapshot.</summary>
    IAsyncEnumerable<AuditChainRow> ReadChainAsync(long fromSequence, CancellationToken cancellationToken);

    /// <summary>Every checkpoint, in sequence order.</summary>
    ValueTask<IReadOnlyList<AuditCheckpoint>> ReadCheckpointsAsync(CancellationToken cancellationToken);

    /// <inheritdoc cref="IAuditLog.FindCheckAsync"/>
    ValueTask<StoredCheck?> FindCheckAsync(string checkId, string councilId, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="limit"/> committed records from <paramref name="fromSequence"/> on, in sequence order.</summary>
    ValueTask<IReadOnlyList<AuditRecord>> ReadAsync(long fromSequence, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> check records (allowed and denied) about the person with
    /// <paramref name="subjectReference"/>, newest first, each with a sequence below <paramref name="beforeSequence"/>
    /// when it is given: the citizen's activity list (Pages/README.md), paged by the last sequence shown.
    /// </summary>
    /// <remarks>
    /// This default is correct for any store but reads the whole log through <see cref="ReadAsync"/>; a store
    /// overrides it with an indexed query, as <see cref="SqliteAuditStore"/> does (migration 3).
    /// </remarks>
    async ValueTask<IReadOnlyList<AuditRecord>> ReadSubjectChecksAsync(string subjectReference, long? beforeSequence, int limit, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subjectReference);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        const int PageSize = 1000;
        var newest = new Queue<AuditRecord>(limit);
        for (long from = 1; ;)
        {
            var page = await ReadAsync(from, PageSize, cancellationToken);
            foreach (var record in page)
            {
                if (record.Sequence >= (beforeSequence ?? long.MaxValue))
                {
                    return [.. newest.Reverse()];
                }

                if (record.Entry.EventType == AuditEventTypes.Check && string.Equals(record.Entry.SubjectReference, subjectReference, StringComparison.Ordinal))
                {
                    if (newest.Count == limit)
                    {
                        newest.Dequeue();
                    }

                    newest.Enqueue(record);
                }
            }

            if (page.Count < PageSize)
            {
                return [.. newest.Reverse()];
            }

            from = page[^1].Sequence + 1;
        }
    }

    /// <summary>
    /// One page of the auditor API (README.md): up to <paramref name="page"/>.Limit committed records that match every
    /// condition of <paramref name="query"/>, as stored (<see cref="AuditChainRow"/>: every column as text, and the hash),
    /// walked by sequence — descending: <c>sequence &lt; After</c> newest first; ascending: <c>sequence &gt; After</c>
    /// oldest first; no bound when After is null. Keyset paging, never OFFSET, so that a walk neither repeats nor skips
    /// records while others are appended. In SQL terms:
    /// <c>SELECT … FROM audit_records WHERE [sequence &lt; @after] [AND council_id = @scope] [AND council_id = @council]
    /// [AND recorded_at &gt;= @from] [AND recorded_at &lt; @to] [AND scheme_id = @scheme] [AND outcome = @outcome]
    /// [AND decision = @decision] [AND lawful_basis = @basis] [AND consent_id = @consent] [AND event_type = @type]
    /// [AND subject_reference = @subject] ORDER BY sequence DESC LIMIT @limit</c>, where <c>recorded_at</c> compares as
    /// an instant (the SQLite store compares its fixed-width UTC text). The scope condition is part of the query: an
    /// implementation must not read out-of-scope records and drop them afterwards, or a page could come back short
    /// while more in-scope records follow.
    /// </summary>
    /// <remarks>
    /// This default is correct for any store but walks the whole chain through <see cref="ReadChainAsync"/> and tests
    /// each row with <see cref="AuditQuery.Matches"/>; a store overrides it with an indexed query that carries every
    /// condition, the scope included, as <see cref="SqliteAuditStore"/> does (migration 4).
    /// </remarks>
    async ValueTask<IReadOnlyList<AuditChainRow>> QueryAsync(AuditQuery query, AuditPageRequest page, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(page);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(page.Limit);
        var ascending = page.Order == AuditOrder.Ascending;
        var from = ascending && page.After is { } after ? after + 1 : 1;
        var before = !ascending && page.After is { } bound ? bound : long.MaxValue;
        var kept = new Queue<AuditChainRow>(page.Limit);
        await foreach (var row in ReadChainAsync(from, cancellationToken).ConfigureAwait(false))
        {
            if (row.Sequence >= before || (ascending && kept.Count == page.Limit))
            {
                break;
            }

            if (query.Matches(row))
            {
                if (kept.Count == page.Limit)
                {
                    kept.Dequeue();
                }

                kept.Enqueue(row);
            }
        }

        return ascending ? [.. kept] : [.. kept.Reverse()];
    }

    /// <summary>
    /// Every committed record matching <paramref name="query"/> (same conditions as <see cref="QueryAsync"/>), as stored,
    /// in ascending sequence order, streamed from one read snapshot so that memory stays flat however many there are
    /// and records committed meanwhile do not appear part-way. For export.
    /// </summary>
    /// <remarks>The default filters <see cref="ReadChainAsync"/> with <see cref="AuditQuery.Matches"/>; a store overrides it with its indexed query.</remarks>
    IAsyncEnumerable<AuditChainRow> StreamAsync(AuditQuery query, CancellationToken cancellationToken) =>
        ReadChainAsync(1, cancellationToken).Where(query.Matches);

    /// <summary>
    /// How many committed records matching <paramref name="query"/> (same conditions as <see cref="QueryAsync"/>, the
    /// scope included) were recorded on each UTC day, by council and outcome, in the order of
    /// <see cref="AuditDailyCount.Ordered"/>; groups without records are absent. For the auditor pages' chart of checks
    /// per day. In SQL terms: <c>SELECT substr(recorded_at, 1, 10), council_id, outcome, count(*) FROM audit_records
    /// WHERE … GROUP BY 1, 2, 3</c>.
    /// </summary>
    /// <remarks>The default counts <see cref="StreamAsync"/> in memory (one entry per group); a store overrides it with a grouped query.</remarks>
    async ValueTask<IReadOnlyList<AuditDailyCount>> CountPerDayAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return await AuditDailyCount.CountAsync(StreamAsync(query, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Proves the store can commit now, on a connection of its own: takes the write lock, writes and reads a probe
    /// row outside the audit table, commits. Returns the highest committed sequence; throws if it cannot.
    /// </summary>
    ValueTask<long> ProbeAsync(CancellationToken cancellationToken);
}
