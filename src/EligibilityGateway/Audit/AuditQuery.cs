using System.Buffers.Text;
using System.Text.Json;

namespace EligibilityGateway.Audit;

/// <summary>
/// Which records an auditor read selects (README.md). Every member that is set is one condition, and all of them must
/// hold; a member left null selects everything. Equality is exact and case-sensitive on the stored text.
/// </summary>
internal sealed record AuditQuery
{
    /// <summary>
    /// The caller's audit scope: when set, only records whose <c>council_id</c> equals it. Records without a council
    /// never match a scope. Set from the auditor's trust-framework scope, never from a request parameter, and part of
    /// the query itself, so that an out-of-scope record is never read, not read and then dropped.
    /// </summary>
    public string? ScopeCouncilId { get; init; }

    /// <summary><c>recorded_at</c> at or after this instant (inclusive).</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary><c>recorded_at</c> strictly before this instant (exclusive), so that consecutive ranges do not overlap.</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary><c>council_id</c> equals.</summary>
    public string? CouncilId { get; init; }

    /// <summary><c>scheme_id</c> equals.</summary>
    public string? SchemeId { get; init; }

    /// <summary><c>outcome</c> equals (stored spelling, e.g. <c>not-eligible</c>).</summary>
    public string? Outcome { get; init; }

    /// <summary><c>decision</c> equals (<c>allow</c> or <c>deny</c>).</summary>
    public string? Decision { get; init; }

    /// <summary><c>lawful_basis</c> equals (<c>consent</c> or <c>public-task</c>).</summary>
    public string? LawfulBasis { get; init; }

    /// <summary><c>consent_id</c> equals.</summary>
    public string? ConsentId { get; init; }

    /// <summary><c>event_type</c> equals.</summary>
    public string? EventType { get; init; }

    /// <summary><c>subject_reference</c> equals (an <c>sr1:</c> reference computed by <see cref="SubjectReferences"/>).</summary>
    public string? SubjectReference { get; init; }

    /// <summary>Whether a stored row meets every condition: the reference semantics of <see cref="IAuditStore.QueryAsync"/>.</summary>
    public bool Matches(AuditChainRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var v = row.Values;
        return Equal(ScopeCouncilId, v[4]) && Equal(CouncilId, v[4]) && Equal(SchemeId, v[6]) && Equal(LawfulBasis, v[8])
            && Equal(ConsentId, v[9]) && Equal(Decision, v[11]) && Equal(Outcome, v[13]) && Equal(EventType, v[3])
            && Equal(SubjectReference, v[17])
            && (From is not { } from || string.CompareOrdinal(v[2], AuditRecordFormat.FormatTime(from)) >= 0)
            && (To is not { } to || string.CompareOrdinal(v[2], AuditRecordFormat.FormatTime(to)) < 0);
    }

    private static bool Equal(string? wanted, string? stored) => wanted is null || string.Equals(wanted, stored, StringComparison.Ordinal);
}

/// <summary>The two directions a page may walk the log in.</summary>
internal enum AuditOrder
{
    /// <summary>Newest first: descending sequence.</summary>
    Descending,

    /// <summary>Oldest first: ascending sequence.</summary>
    Ascending,
}

/// <summary>One page of a keyset walk over the log.</summary>
/// <param name="After">
/// The sequence the previous page ended at, exclusive: the page holds sequences below it (descending) or above it
/// (ascending). Null for the first page.
/// </param>
/// <param name="Limit">At most this many records, at least 1.</param>
/// <param name="Order">The direction of the walk.</param>
internal sealed record AuditPageRequest(long? After, int Limit, AuditOrder Order);

/// <summary>
/// The opaque paging cursor of the auditor API: base64url (no padding) of the UTF-8 JSON
/// <c>{"v":1,"after":N,"order":"desc"|"asc"}</c>, where N is the sequence of the last record of the page returned.
/// Since sequences only grow and records are never changed, the walk from a cursor neither repeats nor skips a
/// record however many are appended meanwhile; the order is inside the cursor so that a cursor cannot be replayed in
/// the other direction by mistake.
/// </summary>
internal static class AuditCursor
{
    private const int Version = 1;
    private const int MaxEncodedLength = 200;

    public static string Encode(long after, AuditOrder order)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new CursorBody(Version, after, OrderName(order)), AuditApiJsonContext.Default.CursorBody);
        return Base64Url.EncodeToString(json);
    }

    /// <summary>Reads a cursor; false for anything this gateway did not write (wrong version, shape, or a sequence below 1).</summary>
    public static bool TryDecode(string cursor, out long after, out AuditOrder order)
    {
        after = 0;
        order = AuditOrder.Descending;
        if (cursor.Length is 0 or > MaxEncodedLength || !Base64Url.IsValid(cursor))
        {
            return false;
        }

        try
        {
            var body = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(cursor), AuditApiJsonContext.Default.CursorBody);
            if (body is not { V: Version, After: > 0 } || !TryParseOrder(body.Order, out order))
            {
                return false;
            }

            after = body.After;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static string OrderName(AuditOrder order) => order == AuditOrder.Ascending ? "asc" : "desc";

    public static bool TryParseOrder(string? value, out AuditOrder order)
    {
        order = value switch
        {
            "asc" => AuditOrder.Ascending,
            _ => AuditOrder.Descending,
        };
        return value is "asc" or "desc";
    }

    internal sealed record CursorBody(int V, long After, string? Order);
}
