using System.Diagnostics;
using System.Text.RegularExpressions;
using OpenTelemetry;

namespace EligibilityGateway.ServiceDefaults;

/// <summary>
/// Removes from URLs everything that could identify a person or a record before a span leaves the process.
/// </summary>
/// <remarks>
/// A server span keeps its route template (<c>/v1/consents/{id}</c>) in place of the path it was called with, and no
/// query; a client span keeps the scheme, host, port and the path segments that are plainly names (lower-case words
/// and version numbers, such as <c>/dwp/v1/benefits</c>), with every other segment and the query replaced.
/// </remarks>
public static partial class UrlRedaction
{
    /// <summary>What stands in for a removed segment or path.</summary>
    public const string Redacted = "{redacted}";

    [GeneratedRegex("^(?:[a-z]+(?:-[a-z]+)*|v[0-9]{1,2})$", RegexOptions.CultureInvariant)]
    private static partial Regex NameSegment();

    /// <summary>The URL with its query and every segment that is not plainly a name removed.</summary>
    public static string Full(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return Redacted;
        }

        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(segment => NameSegment().IsMatch(segment) ? segment : Redacted);
        return $"{uri.Scheme}://{uri.Authority}/{string.Join('/', segments)}";
    }

    /// <summary>The route template when the request matched one, otherwise nothing of the path.</summary>
    public static string ServerPath(string? route) => string.IsNullOrEmpty(route) ? Redacted : route;
}

/// <summary>
/// Applies <see cref="UrlRedaction"/> to every span as it ends, before any exporter sees it, and keeps health probes
/// out of the traces: a probe every few seconds would drown the traces that matter.
/// </summary>
public sealed class UrlRedactionProcessor : BaseProcessor<Activity>
{
    /// <inheritdoc />
    public override void OnEnd(Activity data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Kind == ActivityKind.Server)
        {
            var route = data.GetTagItem("http.route") as string;
            if (route is not null && (route == "/health" || route.StartsWith("/health/", StringComparison.Ordinal)))
            {
                // Not recorded: no exporter takes it.
                data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
                return;
            }

            // The semantic conventions' span name, "{method} {route}" (ASP.NET Core 10 leaves its activity's name).
            if (data.GetTagItem("http.request.method") is string method)
            {
                data.DisplayName = route is null ? method : $"{method} {route}";
            }
        }

        if (data.GetTagItem("url.full") is string full)
        {
            data.SetTag("url.full", UrlRedaction.Full(full));
        }

        if (data.GetTagItem("url.path") is not null)
        {
            data.SetTag("url.path", UrlRedaction.ServerPath(data.GetTagItem("http.route") as string));
        }

        data.SetTag("url.query", null);
    }
}
