using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;

namespace EligibilityGateway.Audit;

/// <summary>One audit record as the auditor API returns it (README.md, "Auditor API"): every stored column, as stored, and its hash.</summary>
internal sealed record AuditEvent(
    long Sequence,
    long FormatVersion,
    string RecordedAt,
    string EventType,
    string? CouncilId,
    string? ClientId,
    string? SchemeId,
    string? Purpose,
    string? LawfulBasis,
    string? ConsentId,
    string? CaseReference,
    string? Decision,
    string? DecisionRule,
    string? Outcome,
    string? ServedFrom,
    JsonElement ProviderCalls,
    string? TraceId,
    string? SubjectReference,
    string? CheckId,
    string? CheckedAt,
    string? ValidUntil,
    JsonElement? Released,
    string? FrameworkId,
    string? FrameworkVersion,
    long? ChainVersion,
    string? Hash)
{
    /// <summary>The API form of a stored row; the JSON columns become JSON values, every other value stays the stored text.</summary>
    public static AuditEvent From(AuditChainRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var v = row.Values;
        return new AuditEvent(
            row.Sequence,
            Integer(v[AuditChain.FormatVersionIndex]) ?? 0,
            v[2]!,
            v[3]!,
            v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14],
            Json(v[15]) ?? JsonDocument.Parse("[]").RootElement.Clone(),
            v[16], v[17], v[18], v[19], v[20],
            Json(v[21]),
            v[22], v[23],
            Integer(v[AuditChain.ChainVersionIndex]),
            row.Hash);
    }

    private static long? Integer(string? value) =>
        long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) ? number : null;

    private static JsonElement? Json(string? value)
    {
        if (value is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(value);
        return document.RootElement.Clone();
    }
}

/// <summary>A page of events: <c>next</c> is the cursor of the following page, or null when this page is the last one for now.</summary>
internal sealed record AuditEventsPage(IReadOnlyList<AuditEvent> Events, string? Next);

/// <summary>
/// The body of <c>POST /v1/audit/subject-search</c>: the shape of a check's <c>subject</c>, so that an auditor can
/// paste one as it is. <see cref="LastName"/> is accepted and ignored: the search is by identifier and date of birth,
/// because the subject reference the log holds leaves the surname out (<see cref="SubjectReferences"/>). Personal
/// data: never logged.
/// </summary>
[Description("The person to search for, in the shape of a check's `subject` (`CheckSubject`), which can be pasted as it is. "
    + "The search is by identifier and date of birth: `lastName` is accepted and ignored, because the subject reference the audit log holds leaves the surname out.")]
internal sealed record AuditSubjectSearchBody(
    [property: Description("The person's National Insurance number; exactly one of this and `nationalAsylumSeekerServiceNumber`.")] string? NationalInsuranceNumber,
    [property: Description("The person's NASS number; exactly one of this and `nationalInsuranceNumber`.")] string? NationalAsylumSeekerServiceNumber,
    [property: Description("The person's date of birth, `yyyy-MM-dd`.")] string? DateOfBirth,
    [property: Description("Ignored: accepted so that a check's `subject` can be pasted as it is. The search is by identifier and date of birth; the subject reference leaves the surname out.")] string? LastName = null)
{
    public override string ToString() => "AuditSubjectSearchBody { redacted }";
}

/// <summary>The answer of <c>GET /v1/audit/verify</c>: <c>AuditVerification</c> as JSON.</summary>
internal sealed record AuditVerifyResponse(
    bool Valid,
    long? Count,
    long? LastSequence,
    long? LastCheckpoint,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? FirstBadSequence,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("Present when the oldest records were purged under retention: the walk started from the anchor checkpoint.")] AuditPurgedView? Purged = null);

/// <summary>Records <c>from</c> (always 1) to <c>to</c> were purged under retention (README.md, "Retention").</summary>
internal sealed record AuditPurgedView(
    [property: Description("The first purged sequence: 1.")] long From,
    [property: Description("The last purged sequence; the checkpoint there anchors the rest of the chain.")] long To,
    [property: Description("The signed checkpoint the verification started from (equal to `to`).")] long AnchorCheckpoint,
    [property: Description("The sequence of the `audit.purged` event that declares the removal.")] long PurgeEventSequence);

/// <summary>A signed checkpoint: the compact JWS as stored, and the stored columns its payload signs.</summary>
internal sealed record AuditCheckpointView(long Sequence, string HeadHash, DateTime IssuedAt, long? PreviousCheckpoint, string KeyId, string Jws);

/// <summary>A page of checkpoints, paged like events.</summary>
internal sealed record AuditCheckpointsPage(IReadOnlyList<AuditCheckpointView> Checkpoints, string? Next);

/// <summary>The query parameters of the event list and the export (README.md, "Auditor API"). Every one is optional.</summary>
internal sealed record AuditFilterParameters(
    [property: FromQuery(Name = "from"), Description("RFC 3339 date-time with an offset; events recorded at or after it.")] string? From,
    [property: FromQuery(Name = "to"), Description("RFC 3339 date-time with an offset; events recorded before it (exclusive).")] string? To,
    [property: FromQuery(Name = "council"), Description("A council id; must be within the auditor's scope.")] string? Council,
    [property: FromQuery(Name = "scheme"), Description("A scheme id.")] string? Scheme,
    [property: FromQuery(Name = "outcome"), Description("`eligible`, `not-eligible`, `not-found` or `undetermined`.")] string? Outcome,
    [property: FromQuery(Name = "decision"), Description("`allow` or `deny`.")] string? Decision,
    [property: FromQuery(Name = "lawfulBasis"), Description("`consent` or `public-task`.")] string? LawfulBasis,
    [property: FromQuery(Name = "consentId"), Description("A consent id.")] string? ConsentId,
    [property: FromQuery(Name = "eventType"), Description("An event type such as `check` or `consent.revoked`.")] string? EventType);

/// <summary>The paging parameters of every list of the auditor API.</summary>
internal sealed record AuditPagingParameters(
    [property: FromQuery(Name = "limit"), Description("Page size, 1 to 500; default 100.")] string? Limit,
    [property: FromQuery(Name = "cursor"), Description("The `next` of the previous page; absent for the first page.")] string? Cursor,
    [property: FromQuery(Name = "order"), Description("`desc` (newest first, the default) or `asc` (oldest first); must match the cursor's.")] string? Order);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(AuditEventsPage))]
[JsonSerializable(typeof(AuditVerifyResponse))]
[JsonSerializable(typeof(AuditCheckpointsPage))]
[JsonSerializable(typeof(AuditSubjectSearchBody))]
[JsonSerializable(typeof(AuditCursor.CursorBody))]
internal sealed partial class AuditApiJsonContext : JsonSerializerContext;
