using System.Collections.Immutable;
using EligibilityGateway.Checks;

namespace EligibilityGateway.Audit;

// The values that go into and come out of the audit log (README.md). The log keeps no personal data: a person
// appears only as a subject reference (SubjectReferences), and free-text fields are the council's own
// references and the gateway's own names. README.md in this folder lists every field and the rules around it.

/// <summary>
/// The kinds of event the log records. An open set: a feature that needs a new kind adds a constant here and
/// the store accepts it without a schema change (lower-case words joined by <c>-</c>, groups joined by <c>.</c>).
/// </summary>
internal static class AuditEventTypes
{
    /// <summary>A check, allowed or denied (Checks/README.md).</summary>
    public const string Check = "check";

    /// <summary>A consent created by a council (Consents/README.md, "States and transitions").</summary>
    public const string ConsentCreated = "consent.created";

    /// <summary>A citizen allowed a consent on the consent page.</summary>
    public const string ConsentAuthorised = "consent.authorised";

    /// <summary>A citizen denied a consent on the consent page.</summary>
    public const string ConsentRejected = "consent.rejected";

    /// <summary>A citizen or council revoked a consent (Consents/README.md, "Revocation cascade, data side").</summary>
    public const string ConsentRevoked = "consent.revoked";

    /// <summary>A consent reached its expiry.</summary>
    public const string ConsentExpired = "consent.expired";

    /// <summary>The token endpoint issued an access token.</summary>
    public const string TokenIssued = "token.issued";

    /// <summary>A trust framework version was put in force.</summary>
    public const string TrustFrameworkLoaded = "trust-framework.loaded";

    /// <summary>
    /// Records whose audit retention had expired were purged (README.md); <see cref="AuditEntry.Rule"/> declares the range
    /// (<see cref="AuditRetention.PurgeRule"/>). Appended before the records go, so the chain itself says what was purged.
    /// </summary>
    public const string AuditPurged = "audit.purged";
}

/// <summary>What the policy engine decided; the rule that made the decision is recorded beside it.</summary>
internal static class AuditDecisions
{
    public const string Allow = "allow";
    public const string Deny = "deny";
}

/// <summary>Where a check's answer came from (the check API's <c>servedFrom</c>).</summary>
internal static class AuditServedFrom
{
    public const string Live = "live";
    public const string Cache = "cache";
}

/// <summary>
/// One event, as the code that observed it supplies it. The log adds the sequence number and the time.
/// Everything except <see cref="EventType"/> is optional because not every event has a council, a scheme or a
/// subject; a <see cref="AuditEventTypes.Check"/> entry must carry what <see cref="AuditEntryRules"/> demands.
/// </summary>
internal sealed record AuditEntry
{
    /// <summary>One of <see cref="AuditEventTypes"/>.</summary>
    public required string EventType { get; init; }

    /// <summary>The council the event concerns (trust-framework id), when there is one.</summary>
    public string? CouncilId { get; init; }

    /// <summary>The OAuth client that made the request.</summary>
    public string? ClientId { get; init; }

    public string? SchemeId { get; init; }

    /// <summary>The purpose the permission names (a DPV term).</summary>
    public string? Purpose { get; init; }

    /// <summary><c>consent</c> or <c>public-task</c>.</summary>
    public string? LawfulBasis { get; init; }

    public string? ConsentId { get; init; }

    /// <summary>The council's justification (the check's <c>caseReference</c>).</summary>
    public string? CaseReference { get; init; }

    /// <summary>One of <see cref="AuditDecisions"/>.</summary>
    public string? Decision { get; init; }

    /// <summary>The policy rule that decided (see <c>TrustFramework.PolicyRules</c>).</summary>
    public string? Rule { get; init; }

    /// <summary>The answer, for an allowed check.</summary>
    public Outcome? Outcome { get; init; }

    /// <summary>One of <see cref="AuditServedFrom"/>, for an allowed check.</summary>
    public string? ServedFrom { get; init; }

    /// <summary>Each provider asked for this check, in the order asked; empty when the answer came from the cache or the check was denied.</summary>
    public ImmutableArray<ProviderCall> ProviderCalls { get; init; } = [];

    /// <summary>The W3C trace id of the request, to join the record to its trace.</summary>
    public string? TraceId { get; init; }

    /// <summary>The person the event concerns, as <see cref="SubjectReferences.Compute"/> renders it; never an identifier.</summary>
    public string? SubjectReference { get; init; }

    /// <summary>The id the check API returned; <c>GET /v1/checks/{id}</c> is answered from this record.</summary>
    public string? CheckId { get; init; }

    public DateTimeOffset? CheckedAt { get; init; }

    public DateTimeOffset? ValidUntil { get; init; }

    /// <summary>
    /// Released field <c>confirmedBy</c>: the providers that said eligible. Null when the scheme did not release it
    /// (data minimisation), so that a later <c>GET</c> shows exactly what the first answer showed.
    /// </summary>
    public ImmutableArray<string>? ConfirmedBy { get; init; }

    /// <summary>The access token a <see cref="AuditEventTypes.TokenIssued"/> record puts on the record: its id, scope and expiry; never the token.</summary>
    public AuditIssuedToken? IssuedToken { get; init; }

    /// <summary>The trust framework in force when the event happened.</summary>
    public string? FrameworkId { get; init; }

    public string? FrameworkVersion { get; init; }
}

/// <summary>An issued access token as the audit log knows it.</summary>
/// <param name="TokenId">The token's <c>jti</c>, which introspection and revocation name it by.</param>
/// <param name="Scope">Its scope, space-separated (RFC 6749 §3.3).</param>
/// <param name="ExpiresAt">Its <c>exp</c>.</param>
internal sealed record AuditIssuedToken(string TokenId, string Scope, DateTimeOffset ExpiresAt);

/// <summary>Proof that an entry is committed: its place in the log and the time the log gave it.</summary>
internal readonly record struct AuditReceipt(long Sequence, DateTimeOffset RecordedAt);

/// <summary>An entry as stored: the entry, plus what the log assigned.</summary>
/// <param name="FormatVersion">Version of the stored form (<see cref="AuditRecordFormat.CurrentVersion"/>).</param>
internal sealed record AuditRecord(long Sequence, DateTimeOffset RecordedAt, int FormatVersion, AuditEntry Entry);

/// <summary>
/// An answered check as the council that made it may read it back: the released fields only, and no
/// personal data.
/// </summary>
internal sealed record StoredCheck(
    string CheckId,
    string CouncilId,
    string SchemeId,
    Outcome Outcome,
    DateTimeOffset CheckedAt,
    DateTimeOffset ValidUntil,
    string ServedFrom,
    string LawfulBasis,
    string? ConsentId,
    string? CaseReference,
    ImmutableArray<string>? ConfirmedBy,
    ImmutableArray<ProviderCall> ProviderCalls,
    long AuditSequence)
{
    /// <summary>The check an answered-check record holds, as every store reads it back.</summary>
    public static StoredCheck From(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
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
    }
}
