using System.Globalization;

namespace EligibilityGateway.Audit;

/// <summary>
/// How many records of one council with one outcome were recorded on one day (UTC): a cell of the auditor pages' chart
/// of checks per day. <see cref="CouncilId"/> and <see cref="Outcome"/> are the stored text, null where the
/// record has none (a denied check has no outcome).
/// </summary>
internal sealed record AuditDailyCount(DateOnly Day, string? CouncilId, string? Outcome, long Count)
{
    /// <summary>The UTC day of a stored <c>recorded_at</c> (fixed-width UTC text, so its first ten characters).</summary>
    public static DateOnly DayOf(string recordedAt) =>
        DateOnly.ParseExact(recordedAt.AsSpan(0, 10), "yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>
    /// The one order every store returns: day, then council, then outcome, ordinal, null first (SQL engines disagree
    /// on where NULL sorts, so the stores sort what they read with this).
    /// </summary>
    public static IReadOnlyList<AuditDailyCount> Ordered(IEnumerable<AuditDailyCount> counts) =>
        [.. counts.OrderBy(c => c.Day).ThenBy(c => c.CouncilId, StringComparer.Ordinal).ThenBy(c => c.Outcome, StringComparer.Ordinal)];

    /// <summary>
    /// The reference semantics of <see cref="IAuditStore.CountPerDayAsync"/> over rows as stored: every store must
    /// answer what this answers for the same rows.
    /// </summary>
    public static async Task<IReadOnlyList<AuditDailyCount>> CountAsync(IAsyncEnumerable<AuditChainRow> rows, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var counts = new Dictionary<(DateOnly Day, string? Council, string? Outcome), long>();
        await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var key = (DayOf(row.Values[2]!), row.Values[4], row.Values[13]);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        return Ordered(counts.Select(c => new AuditDailyCount(c.Key.Day, c.Key.Council, c.Key.Outcome, c.Value)));
    }
}
