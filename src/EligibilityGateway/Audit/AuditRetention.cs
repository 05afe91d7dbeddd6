using System.Globalization;
using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Audit;

/// <summary>
/// Audit retention: how long each record must be kept, and the purge event that declares a removal.
/// README.md, "Retention", is the rule in words.
/// </summary>
internal static class AuditRetention
{
    /// <summary>The declaration a purge event carries in <c>decision_rule</c>: <c>retention:purged:1-&lt;last&gt;</c>.</summary>
    public const string PurgeRulePrefix = "retention:purged:1-";

    private const int EventTypeIndex = 3;
    private const int SchemeIdIndex = 6;
    private const int RecordedAtIndex = 2;
    private const int RuleIndex = 12;

    /// <summary>The rule of a purge event that removes (or has removed) records 1 to <paramref name="lastSequence"/>.</summary>
    public static string PurgeRule(long lastSequence) => PurgeRulePrefix + lastSequence.ToString(CultureInfo.InvariantCulture);

    /// <summary>True when <paramref name="row"/> is a purge event; <paramref name="lastSequence"/> is the end of the range it declares.</summary>
    public static bool TryReadPurge(AuditChainRow row, out long lastSequence)
    {
        ArgumentNullException.ThrowIfNull(row);
        lastSequence = 0;
        if (row.Values[EventTypeIndex] == AuditEventTypes.AuditPurged
            && row.Values[RuleIndex] is { } rule
            && rule.StartsWith(PurgeRulePrefix, StringComparison.Ordinal)
            && long.TryParse(rule.AsSpan(PurgeRulePrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var through)
            && through > 0
            && rule == PurgeRule(through))
        {
            lastSequence = through;
            return true;
        }

        return false;
    }

    /// <summary>The scheme a stored row belongs to, or null.</summary>
    public static string? SchemeOf(AuditChainRow row) => row.Values[SchemeIdIndex];

    /// <summary>When a stored row was recorded.</summary>
    public static DateTimeOffset RecordedAtOf(AuditChainRow row) => AuditRecordFormat.ParseTime(row.Values[RecordedAtIndex] ?? throw new FormatException($"Audit record {row.Sequence} has no recorded_at."));
}

/// <summary>
/// Each scheme's <c>audit_retention</c> from the framework in force. A record of a scheme the framework does not name
/// (removed since, or an event without a scheme: tokens, framework loads, purges) is kept for the longest retention
/// of any scheme, so a record is never purged earlier than some rule allows.
/// </summary>
internal sealed class AuditRetentionPolicy
{
    private readonly Dictionary<string, TimeSpan> bySchemeId;

    public AuditRetentionPolicy(TrustFrameworkDefinition framework)
    {
        ArgumentNullException.ThrowIfNull(framework);
        FrameworkId = framework.Id;
        FrameworkVersion = framework.Version;
        bySchemeId = framework.Schemes.ToDictionary(s => s.Id, s => s.AuditRetention, StringComparer.Ordinal);
        Longest = bySchemeId.Count == 0 ? null : bySchemeId.Values.Max();
    }

    public string FrameworkId { get; }

    public string FrameworkVersion { get; }

    /// <summary>The longest retention of any scheme; null when the framework has no scheme, and then nothing is purged.</summary>
    public TimeSpan? Longest { get; }

    /// <summary>How long a record of <paramref name="schemeId"/> is kept.</summary>
    public TimeSpan? RetentionOf(string? schemeId) =>
        schemeId is not null && bySchemeId.TryGetValue(schemeId, out var retention) ? retention : Longest;

    /// <summary>True when a record of <paramref name="schemeId"/> recorded at <paramref name="recordedAt"/> may go at <paramref name="now"/>.</summary>
    public bool HasExpired(string? schemeId, DateTimeOffset recordedAt, DateTimeOffset now) =>
        RetentionOf(schemeId) is { } retention && recordedAt <= DateTimeOffset.MaxValue - retention && recordedAt + retention <= now;
}

/// <summary>What a purge did: a value, because "nothing to purge" is the usual answer.</summary>
internal abstract record AuditPurgeResult
{
    private AuditPurgeResult()
    {
    }

    /// <summary>Nothing was removed; <paramref name="Reason"/> says why (for the CLI and the log).</summary>
    public sealed record NothingToPurge(string Reason) : AuditPurgeResult;

    /// <summary>
    /// Records <paramref name="FirstSequence"/> to <paramref name="LastSequence"/> were removed (<paramref name="Records"/>
    /// of them); the checkpoint at <paramref name="LastSequence"/> anchors the rest, and the purge event at
    /// <paramref name="PurgeEventSequence"/> declares records 1 to <paramref name="LastSequence"/> purged.
    /// </summary>
    public sealed record Purged(long FirstSequence, long LastSequence, long Records, long PurgeEventSequence) : AuditPurgeResult;

    public static string Describe(AuditPurgeResult result) => result switch
    {
        NothingToPurge n => "nothing to purge: " + n.Reason,
        Purged p => string.Create(CultureInfo.InvariantCulture,
            $"purged sequences {p.FirstSequence} to {p.LastSequence} ({p.Records} records) under retention, anchored at checkpoint {p.LastSequence}; the purge is recorded at sequence {p.PurgeEventSequence}"),
        _ => throw new ArgumentOutOfRangeException(nameof(result)),
    };
}

/// <summary>
/// Removes the records whose retention has expired, as a prefix of the log that ends at a signed checkpoint, so that
/// what remains verifies from that checkpoint (README.md, "Retention"). Run by <see cref="AuditRetentionService"/>
/// and by <c>egw audit purge</c>; several replicas may run it at once (each removal is idempotent).
/// </summary>
internal sealed class AuditPurger(IAuditStore store, IAuditLog log, TimeProvider timeProvider, ILogger<AuditPurger> logger)
{
    /// <summary>
    /// The most records one delete transaction removes, so that a large first purge does not hold the write lock (and
    /// the appenders behind it) for long. Each transaction still ends at a checkpoint, so the log verifies in between.
    /// </summary>
    internal const long RecordsPerTransaction = 10_000;

    private readonly SemaphoreSlim running = new(1, 1);

    /// <summary>Purges what <paramref name="framework"/>'s retention allows at the current time.</summary>
    public async Task<AuditPurgeResult> PurgeAsync(TrustFrameworkDefinition framework, CancellationToken cancellationToken)
    {
        var policy = new AuditRetentionPolicy(framework);
        await running.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var result = await PurgeOnceAsync(policy, cancellationToken).ConfigureAwait(false);
            if (result is AuditPurgeResult.Purged purged)
            {
                Log.Purged(logger, purged.FirstSequence, purged.LastSequence, purged.Records, purged.PurgeEventSequence);
            }
            else
            {
                Log.NothingToPurge(logger, ((AuditPurgeResult.NothingToPurge)result).Reason);
            }

            return result;
        }
        finally
        {
            running.Release();
        }
    }

    private async Task<AuditPurgeResult> PurgeOnceAsync(AuditRetentionPolicy policy, CancellationToken cancellationToken)
    {
        if (policy.Longest is null)
        {
            return new AuditPurgeResult.NothingToPurge("the trust framework has no scheme, so no retention applies");
        }

        var now = timeProvider.GetUtcNow();

        // The boundary is the oldest record some scheme must still keep: every record before it has expired. The walk
        // stops there, so it reads only what is about to go (plus one record).
        long? firstRemaining = null;
        long? firstKept = null;
        long lastSeen = 0;
        await foreach (var row in store.ReadChainAsync(1, cancellationToken).ConfigureAwait(false))
        {
            firstRemaining ??= row.Sequence;
            lastSeen = row.Sequence;
            if (!policy.HasExpired(AuditRetention.SchemeOf(row), AuditRetention.RecordedAtOf(row), now))
            {
                firstKept = row.Sequence;
                break;
            }
        }

        if (firstRemaining is not { } first)
        {
            return new AuditPurgeResult.NothingToPurge("the log is empty");
        }

        var keptFrom = firstKept ?? lastSeen + 1;
        if (keptFrom == first)
        {
            return new AuditPurgeResult.NothingToPurge(string.Create(CultureInfo.InvariantCulture, $"the oldest record, sequence {first}, is still within its retention"));
        }

        // Only up to a signed checkpoint: its head hash is where verification of the rest starts.
        var anchors = (await store.ReadCheckpointsAsync(cancellationToken).ConfigureAwait(false))
            .Select(c => c.Sequence)
            .Where(s => s >= first && s < keptFrom)
            .ToList();
        if (anchors.Count == 0)
        {
            return new AuditPurgeResult.NothingToPurge(string.Create(CultureInfo.InvariantCulture,
                $"records {first} to {keptFrom - 1} have expired, but no signed checkpoint lies among them to anchor the rest of the chain"));
        }

        var last = anchors[^1];

        // The declaration goes into the chain first: if the removal is interrupted, the log still says what was meant
        // to go, and the verifier accepts a removal only of records a purge event declares.
        var receipt = await log.AppendAsync(new AuditEntry
        {
            EventType = AuditEventTypes.AuditPurged,
            Rule = AuditRetention.PurgeRule(last),
            FrameworkId = policy.FrameworkId,
            FrameworkVersion = policy.FrameworkVersion,
        }, cancellationToken).ConfigureAwait(false);

        long removed = 0;
        var through = first - 1;
        foreach (var anchor in anchors)
        {
            if (anchor - through >= RecordsPerTransaction || anchor == last)
            {
                removed += await store.DeleteThroughCheckpointAsync(anchor, cancellationToken).ConfigureAwait(false);
                through = anchor;
            }
        }

        return new AuditPurgeResult.Purged(first, last, removed, receipt.Sequence);
    }
}
