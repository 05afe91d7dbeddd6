using System.Globalization;
using System.Text;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;

namespace EligibilityGateway.Pages;

/// <summary>
/// The filters of <c>/audit</c> as its query string carries them (the auditor API's names; none is personal data),
/// blank fields meaning "any". <see cref="From"/> and <see cref="To"/> also take a plain date, <c>yyyy-MM-dd</c>: from
/// the start of that UTC day, to the end of it (inclusive, as people read a date range); anything else is passed to
/// the auditor API's own parser (<see cref="AuditorEndpoints.ParseFilters"/>), so the page accepts exactly what the
/// API accepts.
/// </summary>
internal sealed record AuditPageFilters(
    string? From, string? To, string? Council, string? Scheme, string? LawfulBasis, string? Outcome, string? Decision, string? EventType, string? ConsentId)
{
    /// <summary>The query parameters, in the order of the form's fields (and of its error summary).</summary>
    public static readonly IReadOnlyList<string> Names = ["from", "to", "council", "scheme", "lawfulBasis", "outcome", "decision", "eventType", "consentId"];

    public static AuditPageFilters None { get; } = new(null, null, null, null, null, null, null, null, null);

    /// <summary>Whether any filter is set.</summary>
    public bool Any => Values().Any(v => v.Value is not null);

    /// <summary>Reads the filters; a parameter given more than once is an error on its field.</summary>
    public static AuditPageFilters Read(IQueryCollection query, PageErrors errors)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(errors);
        string? One(string name)
        {
            var values = query[name];
            if (values.Count > 1)
            {
                errors.Add(name, "Choose one value for each filter");
                return null;
            }

            return string.IsNullOrWhiteSpace(values.ToString()) ? null : values.ToString().Trim();
        }

        return new AuditPageFilters(
            One("from"), One("to"), One("council"), One("scheme"), One("lawfulBasis"), One("outcome"), One("decision"), One("eventType"), One("consentId"));
    }

    /// <summary>The filters as the auditor API's parameters: plain dates become RFC 3339 instants.</summary>
    public AuditFilterParameters ToApi() => new(
        DayStart(From, 0), DayStart(To, 1), Council, Scheme, Outcome, Decision, LawfulBasis, ConsentId, EventType);

    /// <summary>
    /// Parses the filters with the auditor API's parser and turns its errors into the page's, one per field, worded
    /// for people; null when any is invalid.
    /// </summary>
    public AuditQuery? Parse(PageErrors errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var problems = new ValidationErrors();
        var query = AuditorEndpoints.ParseFilters(ToApi(), problems);
        var byField = problems.ToDictionary();
        foreach (var name in Names)
        {
            if (byField.TryGetValue(name, out var messages) && errors.For(name) is null)
            {
                errors.Add(name, Message(name, messages[0]));
            }
        }

        return errors.Any ? null : query;
    }

    /// <summary>The query string of the set filters (no leading <c>?</c>), for links that keep them.</summary>
    public string QueryString()
    {
        var builder = new StringBuilder();
        foreach (var (name, value) in Values())
        {
            if (value is not null)
            {
                builder.Append(builder.Length == 0 ? "" : "&").Append(name).Append('=').Append(Uri.EscapeDataString(value));
            }
        }

        return builder.ToString();
    }

    /// <summary><c>/audit</c> with <paramref name="extra"/> parameters first, then these filters.</summary>
    public string Href(string? extra = null)
    {
        var filters = QueryString();
        var query = string.Join('&', new[] { extra, filters }.Where(p => !string.IsNullOrEmpty(p)));
        return query.Length == 0 ? "/audit" : "/audit?" + query;
    }

    private IEnumerable<(string Name, string? Value)> Values() =>
    [
        ("from", From), ("to", To), ("council", Council), ("scheme", Scheme), ("lawfulBasis", LawfulBasis),
        ("outcome", Outcome), ("decision", Decision), ("eventType", EventType), ("consentId", ConsentId),
    ];

    /// <summary>
    /// A plain date as the instant its range starts at (<paramref name="addDays"/> 1 for an inclusive end: the next
    /// day's start). The day after 9999-12-31 is past the calendar, so that end is its last instant instead.
    /// </summary>
    private static string? DayStart(string? value, int addDays)
    {
        if (value is not { Length: 10 } || !DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return value;
        }

        return day.DayNumber + addDays > DateOnly.MaxValue.DayNumber
            ? LastInstant
            : day.AddDays(addDays).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "T00:00:00Z";
    }

    /// <summary>The calendar's last instant, <see cref="DateTimeOffset.MaxValue"/>, as the auditor API spells an instant.</summary>
    private const string LastInstant = "9999-12-31T23:59:59.9999999Z";

    private static string Message(string field, string apiMessage) => field switch
    {
        "from" => "Enter the start date as a date, like 2026-11-01, or a date and time, like 2026-11-01T09:00:00Z",
        "to" when apiMessage.Contains("later than", StringComparison.Ordinal) => "The end date must be the same as or after the start date",
        "to" => "Enter the end date as a date, like 2026-11-30, or a date and time, like 2026-11-30T17:00:00Z",
        "council" => "Choose a council from the list",
        "scheme" => "Choose a scheme from the list",
        "lawfulBasis" => "Choose a lawful basis from the list",
        "outcome" => "Choose an outcome from the list",
        "decision" => "Choose a decision from the list",
        "eventType" => "Choose an event type from the list",
        "consentId" => "Enter a consent reference of 1 to 128 characters",
        _ => apiMessage,
    };
}
