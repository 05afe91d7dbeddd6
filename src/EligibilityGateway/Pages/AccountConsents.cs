using System.Collections.Immutable;
using System.Globalization;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Consents;
using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Pages;

/// <summary>
/// What the citizen's account reads (README.md): the consents bound to them and the checks made about them, both
/// found by their subject reference, never by an identifier. A consent that is not bound to the signed-in citizen
/// is indistinguishable from no consent at all, so one citizen cannot learn of, revoke or download another's.
/// </summary>
internal sealed class AccountConsents(
    IConsentStore store,
    ConsentService consents,
    IAuditStore audit,
    SubjectReferences subjectReferences,
    TrustFrameworkMonitor frameworks)
{
    /// <summary>Checks shown per page of the activity list.</summary>
    public const int ActivityPageSize = 20;

    /// <summary>The citizen's subject reference: how the store and the audit log know them.</summary>
    public string SubjectReferenceOf(Citizen citizen) => subjectReferences.Compute(citizen.Identity);

    /// <summary>Every consent bound to <paramref name="citizen"/>, newest first, with expiry recorded where it is due.</summary>
    public async Task<IReadOnlyList<Consent>> ListAsync(Citizen citizen, CancellationToken cancellationToken)
    {
        var listed = await store.ListBySubjectReferenceAsync(SubjectReferenceOf(citizen), cancellationToken);
        var current = new List<Consent>(listed.Count);
        foreach (var consent in listed)
        {
            // Through the service, so that a consent whose expiry has passed shows, and is recorded, as expired.
            current.Add(await consents.FindAsync(consent.ConsentId, cancellationToken) ?? consent);
        }

        return current;
    }

    /// <summary>The consent if it is bound to <paramref name="citizen"/>; null when it does not exist or is someone else's.</summary>
    public async Task<Consent?> FindOwnAsync(Citizen citizen, string consentId, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(consentId) || consentId.Length > 64)
        {
            return null;
        }

        var consent = await consents.FindAsync(consentId, cancellationToken);
        return consent?.SubjectReference is { } bound && string.Equals(bound, SubjectReferenceOf(citizen), StringComparison.Ordinal) ? consent : null;
    }

    /// <summary>One page of the checks about <paramref name="citizen"/>, newest first, before the sequence <paramref name="before"/>.</summary>
    public async Task<IReadOnlyList<AuditRecord>> ActivityAsync(Citizen citizen, long? before, CancellationToken cancellationToken) =>
        await audit.ReadSubjectChecksAsync(SubjectReferenceOf(citizen), before, ActivityPageSize, cancellationToken);

    /// <summary>The council's name in the framework in force, or its id when it has since left the framework.</summary>
    public string CouncilName(string? councilId) =>
        councilId is null ? "A council" : frameworks.TryGetCurrent(out var framework) && framework.TryGetCouncil(councilId, out var council) ? council.Name : councilId;

    /// <summary>The scheme's name in the framework in force, or its id.</summary>
    public string SchemeName(string? schemeId) =>
        schemeId is null ? "a service" : frameworks.TryGetCurrent(out var framework) && framework.TryGetScheme(schemeId, out var scheme) ? scheme.Name : schemeId;

    /// <summary>The providers' names in the framework in force, or their ids.</summary>
    public ImmutableArray<string> ProviderNames(IEnumerable<string> providerIds) =>
        [.. providerIds.Select(id => frameworks.TryGetCurrent(out var framework) && framework.TryGetProvider(id, out var provider) ? provider.Name : id)];
}

/// <summary>How the account words what it shows: plain English, GOV.UK date style, UK time.</summary>
internal static class AccountText
{
    private static readonly TimeZoneInfo UkTime = FindUkTime();

    /// <summary>A time as GOV.UK writes it, in UK time: <c>22 November 2026 at 10:05am</c>.</summary>
    public static string When(DateTimeOffset instant)
    {
        var local = TimeZoneInfo.ConvertTime(instant, UkTime);
        var hour = local.Hour % 12 == 0 ? 12 : local.Hour % 12;
        return string.Create(CultureInfo.InvariantCulture, $"{local:d MMMM yyyy} at {hour}:{local:mm}{(local.Hour < 12 ? "am" : "pm")}");
    }

    /// <summary>The GOV.UK tag for a consent's state: words and colour.</summary>
    public static (string Text, string Modifier) Tag(ConsentStatus status) => status switch
    {
        ConsentStatus.Authorised => ("Active", "govuk-tag--green"),
        ConsentStatus.AwaitingAuthorisation => ("Waiting for you", "govuk-tag--blue"),
        ConsentStatus.Revoked => ("Withdrawn", "govuk-tag--red"),
        ConsentStatus.Expired => ("Expired", "govuk-tag--grey"),
        ConsentStatus.Rejected => ("Refused", "govuk-tag--grey"),
        _ => (status.ToName(), "govuk-tag--grey"),
    };

    /// <summary>What a check found, as the citizen would say it.</summary>
    public static string Outcome(AuditEntry check) => check switch
    {
        { Decision: AuditDecisions.Deny } => "Not allowed: the council was refused and nobody was asked about you",
        { Outcome: Checks.Outcome.Eligible } => "You qualify",
        { Outcome: Checks.Outcome.NotEligible } => "You do not qualify",
        { Outcome: Checks.Outcome.NotFound } => "No records about you were found",
        { Outcome: Checks.Outcome.Undetermined } => "Could not be decided, because a government department did not answer",
        _ => "No answer was given",
    };

    /// <summary>The lawful basis of a check, in plain English.</summary>
    public static string LawfulBasis(string? basis) => basis switch
    {
        LawfulBasisNames.Consent => "With your consent",
        LawfulBasisNames.PublicTask => "Without consent, as a public task the law allows (Digital Economy Act 2017, section 35)",
        null => "Not stated",
        _ => basis,
    };

    /// <summary>Released field names, as the consent page names them.</summary>
    public static string Released(string field) => field switch
    {
        "outcome" => "whether you qualify",
        "confirmed-by" => "which department confirmed it",
        _ => field,
    };

    private static TimeZoneInfo FindUkTime()
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById("Europe/London");
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            // A container without time-zone data: show UTC rather than fail the page.
            return TimeZoneInfo.Utc;
        }
    }
}
