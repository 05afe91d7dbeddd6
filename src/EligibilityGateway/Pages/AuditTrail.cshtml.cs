using System.Globalization;
using System.Text;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/audit</c> (README.md): the audit trail for a signed-in auditor — filters as GET parameters, the matching records
/// newest first with keyset paging, a chart of checks per day by outcome and by council, <b>Verify the audit trail</b>
/// (POST) and CSV / JSON-lines downloads of the filtered records. Every read goes through the auditor API's own parser
/// and the store's scoped query (<see cref="AuditQuery.ScopeCouncilId"/>), so a council's auditor sees only that
/// council's records here exactly as through the API.
/// </summary>
[Authorize(Policy = PagePolicies.Auditor)]
internal sealed class AuditTrailModel(
    TrustFrameworkMonitor frameworks, IAuditStore store, KeyRing keyRing, SubjectReferences subjects, TimeProvider timeProvider, ILogger<AuditTrailModel> logger) : PageModel
{
    /// <summary>Records per page.</summary>
    public const int PageSize = 50;

    /// <summary>The chart covers the filtered range, or this many days up to today when there is none.</summary>
    public const int DefaultChartDays = 14;

    /// <summary>At most this many days are drawn; a longer range is drawn for its last days.</summary>
    public const int MaxChartDays = 62;

    public static readonly IReadOnlyList<(string Value, string Text)> Outcomes =
        [("eligible", "Eligible"), ("not-eligible", "Not eligible"), ("not-found", "Not found"), ("undetermined", "Undetermined")];

    public static readonly IReadOnlyList<(string Value, string Text)> Decisions = [(AuditDecisions.Allow, "Allowed"), (AuditDecisions.Deny, "Refused")];

    public static readonly IReadOnlyList<(string Value, string Text)> LawfulBases = [("consent", "Consent"), ("public-task", "Public task")];

    public static readonly IReadOnlyList<(string Value, string Text)> EventTypes =
    [
        (AuditEventTypes.Check, "Check"), (AuditEventTypes.ConsentCreated, "Consent created"), (AuditEventTypes.ConsentAuthorised, "Consent authorised"),
        (AuditEventTypes.ConsentRejected, "Consent rejected"), (AuditEventTypes.ConsentRevoked, "Consent revoked"), (AuditEventTypes.ConsentExpired, "Consent expired"),
        (AuditEventTypes.TokenIssued, "Token issued"), (AuditEventTypes.TrustFrameworkLoaded, "Trust framework loaded"),
        (AuditEventTypes.AuditPurged, "Records purged"),
    ];

    private bool outsideScope;

    private static readonly string[] CouncilColours = ["#1d70b8", "#f47738", "#4c2c92", "#00703c", "#d53880", "#28a197", "#b58840", "#912b88", "#505a5f", "#d4351c"];

    public AuditorPerson Auditor { get; private set; } = null!;

    /// <summary>Whose records the auditor sees, in words: "every council" or the council's name.</summary>
    public string ScopeDescription { get; private set; } = "";

    public AuditPageFilters Filters { get; private set; } = AuditPageFilters.None;

    public PageErrors Errors { get; } = new();

    public IReadOnlyList<AuditEvent> Events { get; private set; } = [];

    /// <summary>Whether the records and the chart were read: false while the filters or the search have problems.</summary>
    public bool Loaded { get; private set; }

    /// <summary>Whether this page was reached through a paging link (so "no records" means "none further").</summary>
    public bool Paged { get; private set; }

    /// <summary>The cursor of the page of newer records, when there is one.</summary>
    public string? NewerCursor { get; private set; }

    /// <summary>The cursor of the page of older records, when there is one.</summary>
    public string? OlderCursor { get; private set; }

    /// <summary>Whether a "Newer records" link leads back to the newest page (an empty page reached by a cursor).</summary>
    public bool NewerIsFirstPage { get; private set; }

    public string? NewerHref => NewerIsFirstPage ? Filters.Href() : NewerCursor is { } cursor ? Filters.Href("cursor=" + cursor) : null;

    public string? OlderHref => OlderCursor is { } cursor ? Filters.Href("cursor=" + cursor) : null;

    /// <summary>
    /// The person searched for, as typed, on the page that answers a subject search (null otherwise). Personal data:
    /// only ever in the POST body and this no-store page, never in a URL or a log.
    /// </summary>
    public AuditSubjectSearchBody? Subject { get; private set; }

    public AuditChart? ChartByOutcome { get; private set; }

    public AuditChart? ChartByCouncil { get; private set; }

    /// <summary>Why the chart covers less than the filters, or why there is none; null when nothing needs saying.</summary>
    public string? ChartNote { get; private set; }

    /// <summary>The result of <b>Verify the audit trail</b>, on the page that answers its POST.</summary>
    public AuditVerification? Verification { get; private set; }

    /// <summary>Only an all-councils auditor may verify: the chain covers every council's records (README, "Isolation").</summary>
    public bool CanVerify => Auditor.Scope.IsAllCouncils;

    /// <summary>The councils the auditor may see, by name, for the council filter.</summary>
    public IReadOnlyList<(string Value, string Text)> Councils { get; private set; } = [];

    public IReadOnlyList<(string Value, string Text)> Schemes { get; private set; } = [];

    public string ExportHref(string format) => Filters.Href("handler=export&format=" + format);

    public string VerifyAction => Filters.Href("handler=verify");

    public string SubjectAction => Filters.Href("handler=subject");

    public string CouncilName(string? councilId) =>
        councilId is null ? "None" : frameworks.TryGetCurrent(out var framework) && framework.TryGetCouncil(councilId, out var council) ? council.Name : councilId;

    public string SchemeName(string? schemeId) =>
        schemeId is null ? "" : frameworks.TryGetCurrent(out var framework) && framework.TryGetScheme(schemeId, out var scheme) ? scheme.Name : schemeId;

    public async Task<IActionResult> OnGetAsync(CancellationToken cancellationToken)
    {
        var query = Prepare();
        return await ShowAsync(query, cancellationToken);
    }

    /// <summary>
    /// <c>GET /audit?handler=export&amp;format=csv|jsonl&amp;…filters</c>: the filtered records within the auditor's
    /// scope, streamed by the auditor API's own export code. Bad filters show the page with its error summary.
    /// </summary>
    public async Task<IActionResult> OnGetExportAsync([FromQuery] string? format, CancellationToken cancellationToken)
    {
        var query = Prepare();
        if (format is null || !AuditExport.Formats.Contains(format))
        {
            Errors.Add("export", "Choose CSV or JSON lines for the download");
        }

        if (query is null || Errors.Any)
        {
            return await ShowAsync(null, cancellationToken);
        }

        await AuditorEndpoints.WriteExportAsync(HttpContext, store, query, format!, Auditor.Subject, logger);
        return new EmptyResult();
    }

    /// <summary>
    /// <b>Verify the audit trail</b> (POST, antiforgery-checked like every POST): runs the verifier over the whole
    /// log and shows the page with the result. All-councils auditors only, as in the API.
    /// </summary>
    public async Task<IActionResult> OnPostVerifyAsync(CancellationToken cancellationToken)
    {
        var query = Prepare();
        if (!CanVerify)
        {
            return ProblemPages.Result(VerifyForbidden);
        }

        var keys = new AuditCheckpointVerifier(Encoding.UTF8.GetString(AuditKeySet.Serialize(keyRing.PublicAuditKeys())));
        Verification = await AuditVerifier.VerifyAsync(store, keys, cancellationToken);
        switch (Verification)
        {
            case AuditVerification.Valid valid:
                Log.AuditPageVerified(logger, valid.Count, valid.LastSequence);
                break;
            case AuditVerification.Invalid invalid:
                Log.AuditPageVerificationFailed(logger, invalid.FirstBadSequence);
                break;
        }

        return await ShowAsync(query, cancellationToken);
    }

    /// <summary>
    /// <b>Find records about a person</b> (POST, antiforgery-checked): the identifiers arrive in the form body, are
    /// checked by the check API's rules and turned into the subject reference by the auditor API's own code
    /// (<see cref="AuditorEndpoints.SubjectReferenceOf"/>), and the page shows the records with that reference that
    /// match the filters, within the auditor's scope. Paging re-posts the same form with the cursor.
    /// </summary>
    public async Task<IActionResult> OnPostSubjectAsync(CancellationToken cancellationToken)
    {
        // Read from the form here rather than bound as handler arguments: MVC's trace log writes a handler's argument
        // values, and these are a person's identifiers.
        var form = await Request.ReadFormAsync(cancellationToken);
        var cursor = form["cursor"].FirstOrDefault();
        var query = Prepare();
        Subject = new AuditSubjectSearchBody(
            Blank(form["nationalInsuranceNumber"].FirstOrDefault()), Blank(form["nationalAsylumSeekerServiceNumber"].FirstOrDefault()), Blank(form["dateOfBirth"].FirstOrDefault()));
        var problems = new ValidationErrors();
        var today = DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime);
        var reference = AuditorEndpoints.SubjectReferenceOf(Subject, subjects, today, problems);
        foreach (var (field, messages) in problems.ToDictionary())
        {
            var id = field switch
            {
                "nationalAsylumSeekerServiceNumber" => "nationalAsylumSeekerServiceNumber",
                "dateOfBirth" => "dateOfBirth",
                _ => "nationalInsuranceNumber",
            };
            if (Errors.All.All(e => e.Message != messages[0]))
            {
                Errors.Add(id, messages[0].TrimEnd('.'));
            }
        }

        if (query is null || reference is null)
        {
            return await ShowAsync(null, cancellationToken);
        }

        return await ShowAsync(query with { SubjectReference = reference }, cancellationToken, cursor);
    }

    internal static ProblemPage VerifyForbidden { get; } = new(
        StatusCodes.Status403Forbidden,
        "Only an auditor of every council can verify the audit trail",
        ["Verification reads every council's records, so it is open only to auditors who may see them all.",
         "Ask your operator for a copy of the audit log and its public keys, and verify it with egw audit verify."]);

    /// <summary>Reads the person and the filters; the scoped query, or null with <see cref="Errors"/> set.</summary>
    private AuditQuery? Prepare()
    {
        // The auditor policy has passed, so the session's person is an auditor.
        Auditor = (AuditorPerson)HttpContext.GetSignedInPerson()!;
        var framework = frameworks.Current;
        ScopeDescription = Auditor.Scope.CouncilId is { } own ? CouncilName(own) : "every council";
        Councils = [.. framework.Definition.Councils.Where(c => Auditor.Scope.Covers(c.Id)).OrderBy(c => c.Name, StringComparer.Ordinal).Select(c => (c.Id, c.Name))];
        Schemes = [.. framework.Definition.Schemes.OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => (s.Id, s.Name))];

        Filters = AuditPageFilters.Read(Request.Query, Errors);
        var query = Filters.Parse(Errors);
        if (query is null)
        {
            return null;
        }

        if (AuditorEndpoints.Scope(Auditor.Scope, query) is not { } scoped)
        {
            Errors.Add("council", $"You can see the records of {ScopeDescription} only");
            outsideScope = true;
            return null;
        }

        return scoped;
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <param name="cursor">The paging cursor of a subject search's form; otherwise the query string's.</param>
    private async Task<IActionResult> ShowAsync(AuditQuery? query, CancellationToken cancellationToken, string? cursor = null)
    {
        ViewData["HasErrors"] = Errors.Any;
        if (query is null)
        {
            // As the API: a council outside the auditor's scope is 403, any other bad filter 400.
            Response.StatusCode = outsideScope ? StatusCodes.Status403Forbidden : StatusCodes.Status400BadRequest;
            return Page();
        }

        var paging = new ValidationErrors();
        var page = AuditorEndpoints.ParsePaging(new AuditPagingParameters(PageSize.ToString(CultureInfo.InvariantCulture), Subject is null ? Request.Query["cursor"].FirstOrDefault() : Blank(cursor), null), paging);
        if (page is null)
        {
            Errors.Add("records", "This page link is not valid any more; start again from the newest records");
            ViewData["HasErrors"] = true;
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }

        await LoadRecordsAsync(query, page, cancellationToken);
        await LoadChartsAsync(query, cancellationToken);
        Loaded = true;
        return Page();
    }

    /// <summary>
    /// One page, newest first. "Older" continues the descending walk after the last record shown; "Newer" walks
    /// ascending from the first record shown (the API's cursor in the other order) and is shown reversed.
    /// </summary>
    private async Task LoadRecordsAsync(AuditQuery query, AuditPageRequest page, CancellationToken cancellationToken)
    {
        Paged = page.After is not null;
        var rows = await store.QueryAsync(query, page with { Limit = PageSize + 1 }, cancellationToken);
        var more = rows.Count > PageSize;
        var shown = rows.Take(PageSize).Select(AuditEvent.From).ToList();
        var ascending = page.Order == AuditOrder.Ascending;
        if (ascending)
        {
            shown.Reverse();
        }

        Events = shown;
        if (shown.Count == 0)
        {
            NewerIsFirstPage = Paged;
            return;
        }

        var hasOlder = ascending || more;
        var hasNewer = ascending ? more : Paged;
        OlderCursor = hasOlder ? AuditCursor.Encode(shown[^1].Sequence, AuditOrder.Descending) : null;
        NewerCursor = hasNewer ? AuditCursor.Encode(shown[0].Sequence, AuditOrder.Ascending) : null;
    }

    /// <summary>
    /// Checks per day over the filtered range (by default the last <see cref="DefaultChartDays"/> days), counted by the
    /// store with the same scoped query as the table, restricted to check records.
    /// </summary>
    private async Task LoadChartsAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        if (query.EventType is { } type && type != AuditEventTypes.Check)
        {
            ChartNote = "The chart counts checks, and the event type filter leaves none.";
            return;
        }

        // Days are counted by day number and clamped to the calendar, so that a filter at its first or last instant
        // (to=0001-01-01T00:00:00Z, from=9999-12-31) draws the days that exist rather than stepping off either end.
        var today = DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime);
        var last = query.To is not { } to ? today
            : to.UtcDateTime == DateTime.MinValue ? DateOnly.MinValue
            : DateOnly.FromDateTime(to.UtcDateTime.AddTicks(-1));
        var first = query.From is { } from ? DateOnly.FromDateTime(from.UtcDateTime)
            : DateOnly.FromDayNumber(Math.Max(DateOnly.MinValue.DayNumber, last.DayNumber + 1 - DefaultChartDays));
        if (last < first)
        {
            last = first;
        }

        if (last.DayNumber - first.DayNumber + 1 > MaxChartDays)
        {
            first = last.AddDays(1 - MaxChartDays);
            ChartNote = $"The chart shows the last {MaxChartDays} days of the dates you chose.";
        }

        var start = new DateTimeOffset(first.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var end = last == DateOnly.MaxValue ? DateTimeOffset.MaxValue : new DateTimeOffset(last.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var counts = await store.CountPerDayAsync(
            query with
            {
                EventType = AuditEventTypes.Check,
                From = query.From is { } f && f > start ? f : start,
                To = query.To is { } t && t < end ? t : end,
            },
            cancellationToken);

        ChartByOutcome = AuditChart.Build(
            "chart-outcome", "Checks per day by outcome", first, last,
            [
                new("eligible", "eligible", "#00703c"), new("not-eligible", "not eligible", "#1d70b8"), new("not-found", "not found", "#505a5f"),
                new("undetermined", "undetermined", "#f47738"), new(null, "refused (no answer)", "#d4351c"),
            ],
            c => c.Outcome,
            counts);

        // Every council the auditor may see (a council with no checks is a finding too), or only the one filtered on.
        var councilIds = Councils.Select(c => c.Value).Where(id => query.CouncilId is null || id == query.CouncilId)
            .Concat(counts.Select(c => c.CouncilId).OfType<string>()).Distinct(StringComparer.Ordinal).ToList();
        ChartByCouncil = AuditChart.Build(
            "chart-council", "Checks per day by council", first, last,
            [.. councilIds.Select((id, i) => new ChartSeries(id, CouncilName(id), CouncilColours[i % CouncilColours.Length]))],
            c => c.CouncilId,
            counts);
    }
}

/// <summary>How the audit pages write stored values for people: times in UTC to the second, codes by their names.</summary>
internal static class AuditText
{
    /// <summary>A stored <c>recorded_at</c> (fixed-width UTC text) to the second: <c>2026-11-22 10:05:03</c>.</summary>
    public static string Recorded(string stored) =>
        stored.Length >= 19 ? string.Concat(stored.AsSpan(0, 10), " ", stored.AsSpan(11, 8)) : stored;

    /// <summary>An instant in UTC to the second: <c>22 November 2026 at 10:05:03 UTC</c>.</summary>
    public static string When(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("d MMMM yyyy 'at' HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>
    /// A code such as a decision rule (<c>permission:leeds/free-school-meals/public-task</c>), encoded, with a line-break
    /// opportunity (<c>&lt;wbr&gt;</c>) after each <c>:</c> and <c>/</c>, so that a narrow cell wraps it between its parts.
    /// </summary>
    public static Microsoft.AspNetCore.Html.HtmlString Breakable(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        var html = new StringBuilder(code.Length + 32);
        var start = 0;
        for (var i = 0; i < code.Length; i++)
        {
            if (code[i] is ':' or '/')
            {
                html.Append(System.Net.WebUtility.HtmlEncode(code[start..(i + 1)])).Append("<wbr>");
                start = i + 1;
            }
        }

        return new(html.Append(System.Net.WebUtility.HtmlEncode(code[start..])).ToString());
    }

    /// <summary>The name of a stored code from <paramref name="names"/>, the code itself when it has none, or empty for NULL.</summary>
    public static string Named(IReadOnlyList<(string Value, string Text)> names, string? stored) =>
        stored is null ? "" : names.FirstOrDefault(n => n.Value == stored).Text ?? stored;
}
