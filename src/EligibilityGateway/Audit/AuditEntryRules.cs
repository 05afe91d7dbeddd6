using System.Text.RegularExpressions;

namespace EligibilityGateway.Audit;

/// <summary>
/// What an entry must hold before the log accepts it. A broken entry is a programming error in the caller, so it
/// is refused with <see cref="ArgumentException"/> at once, before it can take a sequence number; the message
/// names the field and never repeats its value.
/// </summary>
internal static partial class AuditEntryRules
{
    public static void Validate(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.EventType is null || entry.EventType.Length > 64 || !EventTypePattern().IsMatch(entry.EventType))
        {
            throw Invalid(nameof(AuditEntry.EventType), "must be lower-case words joined by '-' and '.', at most 64 characters (see AuditEventTypes)");
        }

        if (entry.Decision is not (null or AuditDecisions.Allow or AuditDecisions.Deny))
        {
            throw Invalid(nameof(AuditEntry.Decision), "must be 'allow' or 'deny'");
        }

        if (entry.ServedFrom is not (null or AuditServedFrom.Live or AuditServedFrom.Cache))
        {
            throw Invalid(nameof(AuditEntry.ServedFrom), "must be 'live' or 'cache'");
        }

        if (entry.SubjectReference is not null && !SubjectReferences.IsWellFormed(entry.SubjectReference))
        {
            // Guards against an identifier being passed where its keyed reference belongs (README.md).
            throw Invalid(nameof(AuditEntry.SubjectReference), "must be a subject reference from SubjectReferences.Compute");
        }

        if (!entry.ProviderCalls.IsDefault && entry.ProviderCalls.Any(c => c is null || string.IsNullOrEmpty(c.ProviderId)))
        {
            throw Invalid(nameof(AuditEntry.ProviderCalls), "every call must name its provider");
        }

        if (entry.EventType == AuditEventTypes.Check)
        {
            ValidateCheck(entry);
        }
    }

    private static void ValidateCheck(AuditEntry entry)
    {
        Require(entry.CouncilId, nameof(AuditEntry.CouncilId));
        Require(entry.Decision, nameof(AuditEntry.Decision));
        Require(entry.Rule, nameof(AuditEntry.Rule));
        if (entry.Decision != AuditDecisions.Allow)
        {
            return;
        }

        // An allowed check is what GET /v1/checks/{id} answers from, so everything that answer shows must be here.
        Require(entry.CheckId, nameof(AuditEntry.CheckId));
        Require(entry.SchemeId, nameof(AuditEntry.SchemeId));
        Require(entry.LawfulBasis, nameof(AuditEntry.LawfulBasis));
        Require(entry.ServedFrom, nameof(AuditEntry.ServedFrom));
        if (entry.Outcome is null)
        {
            throw Invalid(nameof(AuditEntry.Outcome), "is required for an allowed check");
        }

        if (entry.CheckedAt is null || entry.ValidUntil is null)
        {
            throw Invalid(entry.CheckedAt is null ? nameof(AuditEntry.CheckedAt) : nameof(AuditEntry.ValidUntil), "is required for an allowed check");
        }
    }

    private static void Require(string? value, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw Invalid(field, "is required for a check");
        }
    }

    private static ArgumentException Invalid(string field, string rule) =>
        new($"Audit entry field {field} {rule}.", "entry");

    [GeneratedRegex("^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex EventTypePattern();
}
