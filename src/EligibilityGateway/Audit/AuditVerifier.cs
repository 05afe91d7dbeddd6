using System.Buffers;
using System.Globalization;

namespace EligibilityGateway.Audit;

/// <summary>What verifying the log found. A value, because an invalid log is an expected answer, not a failure.</summary>
internal abstract record AuditVerification
{
    private AuditVerification()
    {
    }

    /// <summary>Every record walked recomputes to its stored hash, sequences run without a gap, and every checkpoint verifies.</summary>
    /// <param name="Count">Records walked.</param>
    /// <param name="LastSequence">The last record's sequence; 0 for an empty log.</param>
    /// <param name="LastCheckpoint">The newest checkpoint, or null when none has been signed yet.</param>
    /// <param name="Purged">The oldest records, removed under retention, when there are any: the walk started from their anchor checkpoint.</param>
    public sealed record Valid(long Count, long LastSequence, AuditCheckpoint? LastCheckpoint, AuditPurgedRange? Purged = null) : AuditVerification;

    /// <summary>The log has been altered; <paramref name="FirstBadSequence"/> is the first record that cannot be trusted.</summary>
    public sealed record Invalid(long FirstBadSequence, string Reason) : AuditVerification;

    public static string Describe(AuditVerification result) => result switch
    {
        Valid { LastCheckpoint: null } v => string.Create(CultureInfo.InvariantCulture,
            $"valid: {v.Count} records, last sequence {v.LastSequence}, no signed checkpoint yet (the chain is consistent but nothing signs it)"),
        Valid v => string.Create(CultureInfo.InvariantCulture,
            $"valid: {v.Count} records, last sequence {v.LastSequence}, last checkpoint at {v.LastCheckpoint!.Sequence} signed {AuditRecordFormat.FormatTime(v.LastCheckpoint.IssuedAt)} by key {v.LastCheckpoint.KeyId}{Describe(v.Purged)}"),
        Invalid i => string.Create(CultureInfo.InvariantCulture, $"invalid at sequence {i.FirstBadSequence}: {i.Reason}"),
        _ => throw new ArgumentOutOfRangeException(nameof(result)),
    };

    private static string Describe(AuditPurgedRange? purged) => purged is null ? "" : string.Create(CultureInfo.InvariantCulture,
        $"; sequences 1 to {purged.LastSequence} purged under retention, anchored at checkpoint {purged.AnchorCheckpoint} (purge recorded at sequence {purged.PurgeEventSequence})");
}

/// <summary>
/// Records 1 to <paramref name="LastSequence"/> were purged under retention: they are gone, the signed checkpoint at
/// <paramref name="LastSequence"/> (<paramref name="AnchorCheckpoint"/>) carries the chain on, and the purge event at
/// <paramref name="PurgeEventSequence"/> declares the removal (README.md, "Retention").
/// </summary>
internal sealed record AuditPurgedRange(long LastSequence, long AnchorCheckpoint, long PurgeEventSequence);

/// <summary>
/// Verifies an audit log (README.md), in the gateway and offline in <c>egw audit verify</c>: walks the records in
/// sequence order, recomputes every hash, checks that sequences run without a gap, that every checkpoint is signed by
/// a key of the given set and names the head hash the recomputed chain has at its sequence, and that the log is not
/// shorter than its last checkpoint. README.md, "Chain", lists what each finding means.
/// </summary>
internal static class AuditVerifier
{
    /// <summary>
    /// Verifies everything the store holds, from the first record, or — when older records were purged under retention —
    /// from the signed checkpoint just before the first remaining record, provided a purge event in the remaining chain
    /// declares that range purged (README.md, "Retention").
    /// </summary>
    public static async Task<AuditVerification> VerifyAsync(IAuditStore store, AuditCheckpointVerifier keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        return await VerifyAsync(store.ReadChainAsync(1, cancellationToken), await store.ReadCheckpointsAsync(cancellationToken).ConfigureAwait(false), keys, cancellationToken).ConfigureAwait(false);
    }

    /// <param name="records">The records in ascending sequence order, as stored.</param>
    /// <param name="checkpoints">Every stored checkpoint, in ascending sequence order.</param>
    public static async Task<AuditVerification> VerifyAsync(
        IAsyncEnumerable<AuditChainRow> records, IReadOnlyList<AuditCheckpoint> checkpoints, AuditCheckpointVerifier keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentNullException.ThrowIfNull(keys);

        // Signatures first: a checkpoint is evidence only if the key set vouches for it and its stored columns say
        // what its signed payload says.
        var signed = new SortedDictionary<long, (AuditCheckpoint Stored, VerifiedCheckpoint Payload)>();
        long? previous = null;
        foreach (var checkpoint in checkpoints)
        {
            if (!keys.TryVerify(checkpoint.Jws, out var payload, out var why))
            {
                return Bad(checkpoint.Sequence, $"the checkpoint at sequence {checkpoint.Sequence} {why}");
            }

            if (payload.Sequence != checkpoint.Sequence || payload.HeadHash != checkpoint.HeadHash || payload.PreviousCheckpoint != checkpoint.PreviousCheckpoint
                || payload.IssuedAt != checkpoint.IssuedAt || payload.KeyId != checkpoint.KeyId)
            {
                return Bad(checkpoint.Sequence, $"the checkpoint at sequence {checkpoint.Sequence} is stored with values its signed payload does not hold");
            }

            if (payload.PreviousCheckpoint != previous)
            {
                // Each checkpoint names the one before it, so a checkpoint removed from the middle is noticed.
                return Bad(checkpoint.Sequence, $"the checkpoint at sequence {checkpoint.Sequence} follows checkpoint {Show(payload.PreviousCheckpoint)}, but the checkpoint before it is {Show(previous)}");
            }

            signed[checkpoint.Sequence] = (checkpoint, payload);
            previous = checkpoint.Sequence;
        }

        var scratch = new ArrayBufferWriter<byte>(1024);
        var previousHash = AuditChain.Genesis.ToArray();
        var recomputed = new byte[AuditChain.HashBytes];
        var stored = new byte[AuditChain.HashBytes];
        long expected = 1;
        long count = 0;
        long lastGoodCheckpoint = 0;
        AuditCheckpoint? lastCheckpoint = null;
        long purgedThrough = 0;
        (long Through, long Sequence) declared = (0, 0);
        var first = true;
        await foreach (var row in records.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (first)
            {
                first = false;
                if (row.Sequence > 1 && signed.TryGetValue(row.Sequence - 1, out var anchor))
                {
                    // Older records are gone. The chain resumes from the signed head hash at that boundary; whether
                    // they went by a retention purge or by deletion is settled at the end, by the purge events.
                    AuditChain.TryParseHex(anchor.Payload.HeadHash, previousHash);
                    expected = row.Sequence;
                    lastGoodCheckpoint = row.Sequence - 1;
                    lastCheckpoint = anchor.Stored;
                    purgedThrough = row.Sequence - 1;
                }
            }

            if (row.Sequence != expected)
            {
                return row.Sequence > expected
                    ? Bad(expected, $"record {expected} is missing: the record after {expected - 1} is {row.Sequence}")
                    : Bad(row.Sequence, $"record {row.Sequence} appears out of order after {expected - 1}");
            }

            if (row.ChainVersion != AuditChain.CurrentVersion)
            {
                return Bad(row.Sequence, $"record {row.Sequence} has chain version '{row.Values[AuditChain.ChainVersionIndex] ?? "NULL"}', not {AuditChain.CurrentVersion}");
            }

            if (!AuditChain.TryParseHex(row.Hash, stored))
            {
                return Bad(row.Sequence, $"record {row.Sequence} has no well-formed hash");
            }

            AuditChain.ComputeHash(row.Values, previousHash, scratch, recomputed);
            if (!recomputed.AsSpan().SequenceEqual(stored))
            {
                return Bad(row.Sequence, $"record {row.Sequence} does not hash to its stored hash: its contents, or the record before it, changed");
            }

            if (signed.TryGetValue(row.Sequence, out var checkpoint))
            {
                if (checkpoint.Payload.HeadHash != AuditChain.ToHex(recomputed))
                {
                    // The chain is consistent but differs from what was signed: every record since the last good
                    // checkpoint was rewritten with recomputed hashes, so none of them can be trusted.
                    return Bad(lastGoodCheckpoint + 1, string.Create(CultureInfo.InvariantCulture,
                        $"records {lastGoodCheckpoint + 1} to {row.Sequence} are not the records the checkpoint at sequence {row.Sequence} signed (its head hash differs from the recomputed chain)"));
                }

                lastGoodCheckpoint = row.Sequence;
                lastCheckpoint = checkpoint.Stored;
            }

            if (AuditRetention.TryReadPurge(row, out var through) && through > declared.Through)
            {
                // Trusted only now that its hash checks: a purge event is part of the chain like any record.
                declared = (through, row.Sequence);
            }

            (previousHash, recomputed) = (recomputed, previousHash);
            expected++;
            count++;
        }

        if (purgedThrough > declared.Through)
        {
            // Removing a prefix up to a checkpoint looks like a purge; only a purge event in the chain that covers it
            // makes it one. Without that, records from the end of the last declared purge on were deleted.
            return Bad(declared.Through + 1, string.Create(CultureInfo.InvariantCulture,
                $"records {declared.Through + 1} to {purgedThrough} are missing: they end at the checkpoint at sequence {purgedThrough}, but no purge event in the log declares them purged under retention"));
        }

        var lastSequence = expected - 1;
        if (signed.Count > 0 && signed.Keys.Last() > lastSequence)
        {
            var newest = signed.Keys.Last();
            return Bad(lastSequence + 1, string.Create(CultureInfo.InvariantCulture,
                $"the log ends at sequence {lastSequence}, but a checkpoint was signed at sequence {newest}: records from {lastSequence + 1} were removed"));
        }

        return new AuditVerification.Valid(count, lastSequence, signed.Count > 0 ? signed.Values.Last().Stored : lastCheckpoint,
            purgedThrough > 0 ? new AuditPurgedRange(purgedThrough, purgedThrough, declared.Sequence) : null);
    }

    private static AuditVerification.Invalid Bad(long sequence, string reason) => new(sequence, reason);

    private static string Show(long? sequence) => sequence is { } s ? s.ToString(CultureInfo.InvariantCulture) : "none";
}
