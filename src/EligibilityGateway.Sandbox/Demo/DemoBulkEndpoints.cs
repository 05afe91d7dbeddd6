using System.Globalization;
using System.Text;
using System.Text.Json;
using static EligibilityGateway.Sandbox.Demo.DemoPages;

namespace EligibilityGateway.Sandbox.Demo;

/// <summary>A bulk check a visit submitted: its id, the council's token and the rows the gateway rejected.</summary>
internal sealed record DemoBulk(string BulkCheckId, DemoCouncil Council, DemoScheme Scheme, DemoTokens Tokens, IReadOnlyList<DemoRejectedRow> Rejected);

/// <summary>A row the gateway did not check, as its 202 named it.</summary>
internal sealed record DemoRejectedRow(int Row, string Field, string Message);

/// <summary>
/// The caseworker's bulk page (Demo/README.md, "Bulk check"): upload a CSV, watch the gateway's progress (the page
/// refreshes itself with <c>&lt;meta http-equiv="refresh"&gt;</c>, no script), see rejected rows, download the results.
/// </summary>
internal static class DemoBulkEndpoints
{
    public const string BulkPath = "/demo/bulk";
    public const string ProgressPath = "/demo/bulk/progress";
    public const string ResultsPath = "/demo/bulk/results.csv";
    public const string FieldFile = "residents";

    /// <summary>The gateway's own limit on a bulk upload (5 MiB); a larger file is refused here before it is sent.</summary>
    public const long MaxFileBytes = 5 * 1024 * 1024;

    public static RouteGroupBuilder MapDemoBulk(this RouteGroupBuilder demo)
    {
        demo.MapGet("/bulk", (HttpContext context, DemoSessions sessions) => DemoCouncilEndpoints.Html(Form(sessions.FindOrStart(context), error: null)));
        demo.MapPost("/bulk", SubmitAsync);
        demo.MapGet("/bulk/progress", ProgressAsync);
        demo.MapGet("/bulk/results.csv", ResultsAsync);
        return demo;
    }

    private static async Task<IResult> SubmitAsync(HttpContext context, DemoSessions sessions, DemoGatewayClient gateway, CancellationToken cancellationToken)
    {
        if (context.Request.ContentLength > MaxFileBytes + (64 * 1024))
        {
            return TooLarge(context, sessions);
        }

        (DemoSession? Session, IFormCollection? Form) posted;
        try
        {
            posted = await DemoCouncilEndpoints.ReadPostAsync(context, sessions);
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or IOException)
        {
            return DemoCouncilEndpoints.Html(Problem("Sorry, there is a problem with the form", "The upload could not be read as a form. Nothing was sent."), StatusCodes.Status400BadRequest);
        }

        if (posted is not ({ } session, { } form))
        {
            return DemoCouncilEndpoints.Forbidden();
        }

        var council = DemoCouncil.Find(form[FieldCouncil]);
        var scheme = DemoScheme.Find(form[FieldScheme]);
        if (council is null || scheme is null)
        {
            return DemoCouncilEndpoints.Html(Form(session, "Choose one of the councils and one of the schemes offered"), StatusCodes.Status400BadRequest);
        }

        var file = form.Files.GetFile(FieldFile);
        if (file is null || file.Length == 0)
        {
            return DemoCouncilEndpoints.Html(Form(session, "Select a CSV file of residents"), StatusCodes.Status400BadRequest);
        }

        if (file.Length > MaxFileBytes)
        {
            return DemoCouncilEndpoints.Html(Form(session, "The selected file must be smaller than 5 MB"), StatusCodes.Status413PayloadTooLarge);
        }

        var bytes = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
        {
            await stream.ReadExactlyAsync(bytes, cancellationToken);
        }

        if (!file.FileName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) || !IsText(bytes))
        {
            return DemoCouncilEndpoints.Html(Form(session, "The selected file must be a CSV"), StatusCodes.Status400BadRequest);
        }

        await session.Gate.WaitAsync(cancellationToken);
        try
        {
            var discovery = await gateway.DiscoverAsync(cancellationToken);
            if (discovery is not DemoCall<DemoServerMetadata>.Succeeded { Value: var metadata })
            {
                return Refused((DemoCall<DemoServerMetadata>.Refused)discovery);
            }

            var token = await gateway.ClientCredentialsAsync(metadata, council, "eligibility.check", cancellationToken);
            if (token is not DemoCall<DemoTokens>.Succeeded { Value: var tokens })
            {
                return Refused((DemoCall<DemoTokens>.Refused)token);
            }

            var submitted = await gateway.SubmitBulkAsync(tokens.AccessToken, scheme, bytes, cancellationToken);
            if (submitted is not DemoCall<JsonElement>.Succeeded { Value: var status })
            {
                var refused = (DemoCall<JsonElement>.Refused)submitted;
                var code = refused.Status is >= 400 and < 500 ? refused.Status : StatusCodes.Status502BadGateway;
                return DemoCouncilEndpoints.Html(Form(session, $"The gateway refused the file: {refused.Title}. {refused.Detail}"), code);
            }

            var rejected = status.TryGetProperty("rejectedRows", out var rows) && rows.ValueKind == JsonValueKind.Array
                ? rows.EnumerateArray().Select(r => new DemoRejectedRow(r.GetProperty("row").GetInt32(), r.GetProperty("field").GetString() ?? "", r.GetProperty("message").GetString() ?? "")).ToList()
                : [];
            session.Bulk = new DemoBulk(status.GetProperty("bulkCheckId").GetString()!, council, scheme, tokens, rejected);
            return Results.Redirect(ProgressPath);
        }
        finally
        {
            session.Gate.Release();
        }
    }

    private static async Task<IResult> ProgressAsync(HttpContext context, DemoSessions sessions, DemoGatewayClient gateway, TimeProvider time, CancellationToken cancellationToken)
    {
        if (sessions.Find(context) is not { Bulk: { } bulk })
        {
            return Results.Redirect(BulkPath);
        }

        if (await TokenAsync(sessions.Find(context)!, bulk, gateway, time, cancellationToken) is not { } tokens)
        {
            return DemoCouncilEndpoints.Html(Problem("The gateway refused the council's token", "A new token for the council could not be had. Start again."), StatusCodes.Status502BadGateway);
        }

        return await gateway.BulkStatusAsync(tokens.AccessToken, bulk.BulkCheckId, cancellationToken) switch
        {
            DemoCall<JsonElement>.Succeeded { Value: var status } => DemoCouncilEndpoints.Html(Progress(bulk, status)),
            DemoCall<JsonElement>.Refused refused => Refused(refused),
            _ => throw new InvalidOperationException(),
        };
    }

    private static async Task<IResult> ResultsAsync(HttpContext context, DemoSessions sessions, DemoGatewayClient gateway, TimeProvider time, CancellationToken cancellationToken)
    {
        if (sessions.Find(context) is not { Bulk: { } bulk } session)
        {
            return Results.Redirect(BulkPath);
        }

        if (await TokenAsync(session, bulk, gateway, time, cancellationToken) is not { } tokens
            || await gateway.BulkResultsCsvAsync(tokens.AccessToken, bulk.BulkCheckId, cancellationToken) is not { } csv)
        {
            return DemoCouncilEndpoints.Html(Problem("The results could not be downloaded", "The gateway did not give the results. Try again."), StatusCodes.Status502BadGateway);
        }

        return Results.File(csv, "text/csv; charset=utf-8", $"bulk-check-{bulk.BulkCheckId}.csv");
    }

    /// <summary>The council's token, renewed with client credentials when it is about to run out.</summary>
    private static async Task<DemoTokens?> TokenAsync(DemoSession session, DemoBulk bulk, DemoGatewayClient gateway, TimeProvider time, CancellationToken cancellationToken)
    {
        if (bulk.Tokens.ExpiresAt - TimeSpan.FromSeconds(10) > time.GetUtcNow())
        {
            return bulk.Tokens;
        }

        if (await gateway.DiscoverAsync(cancellationToken) is not DemoCall<DemoServerMetadata>.Succeeded { Value: var metadata }
            || await gateway.ClientCredentialsAsync(metadata, bulk.Council, "eligibility.check", cancellationToken) is not DemoCall<DemoTokens>.Succeeded { Value: var tokens })
        {
            return null;
        }

        session.Bulk = bulk with { Tokens = tokens };
        return tokens;
    }

    private static IResult TooLarge(HttpContext context, DemoSessions sessions) =>
        DemoCouncilEndpoints.Html(sessions.Find(context) is { } session
            ? Form(session, "The selected file must be smaller than 5 MB")
            : Problem("The file is too large", "A bulk check takes at most 5 MB. Nothing was sent."), StatusCodes.Status413PayloadTooLarge);

    private static IResult Refused<T>(DemoCall<T>.Refused refused) => DemoCouncilEndpoints.Html(
        Problem("The gateway refused the request", $"{refused.Step}: {refused.Status} {refused.Title}. {refused.Detail}"),
        refused.Status is >= 400 and < 500 ? refused.Status : StatusCodes.Status502BadGateway);

    /// <summary>A CSV is text: UTF-8 without NUL bytes (a spreadsheet's binary file, an image, is not).</summary>
    private static bool IsText(byte[] bytes)
    {
        if (Array.IndexOf(bytes, (byte)0) >= 0)
        {
            return false;
        }

        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static string Form(DemoSession session, string? error)
    {
        var summary = ErrorSummary(FieldFile, error);
        var body = $"""
            {summary}
            <span class="govuk-caption-l">Caseworker system</span>
            <h1 class="govuk-heading-l">Check many residents at once</h1>
            <p class="govuk-body">Upload a CSV file with a header row <code>caseReference,nationalInsuranceNumber,nationalAsylumSeekerServiceNumber,lastName,dateOfBirth</code>,
              up to 10,000 rows and 5 MB. This system sends it to the gateway's bulk check, shows its progress and lets you download the results.</p>
            <form method="post" action="{BulkPath}" enctype="multipart/form-data" novalidate>
              <input type="hidden" name="{FieldAntiforgery}" value="{H(session.AntiforgeryToken)}">
              {CouncilAndScheme()}
              <div class="govuk-form-group{(error is null ? "" : " govuk-form-group--error")}">
                <label class="govuk-label govuk-label--m" for="{FieldFile}">CSV file of residents</label>
                {(error is null ? "" : $"""<p id="{FieldFile}-error" class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> {H(error)}</p>""")}
                <input class="govuk-file-upload{(error is null ? "" : " govuk-file-upload--error")}" id="{FieldFile}" name="{FieldFile}" type="file" accept=".csv,text/csv">
              </div>
              <button type="submit" class="govuk-button" data-module="govuk-button">Check these residents</button>
            </form>
            """;
        return Layout(error is null ? "Check many residents at once" : "Error: Check many residents at once", body);
    }

    private static string Progress(DemoBulk bulk, JsonElement status)
    {
        int N(string name) => status.GetProperty(name).GetInt32();
        int O(string name) => status.GetProperty("outcomes").GetProperty(name).GetInt32();
        var state = status.GetProperty("status").GetString() ?? "";
        var total = N("total");
        var settled = N("completed") + N("failed") + N("invalid") + N("cancelled");
        var finished = state is "completed" or "cancelled";
        var rejected = bulk.Rejected.Count == 0 ? "" : $"""
            <div class="govuk-error-summary" data-module="govuk-error-summary" id="rejected-rows">
              <div role="alert">
                <h2 class="govuk-error-summary__title">{bulk.Rejected.Count.ToString(CultureInfo.InvariantCulture)} {(bulk.Rejected.Count == 1 ? "row was" : "rows were")} not checked</h2>
                <div class="govuk-error-summary__body">
                  <p class="govuk-body">Correct these rows and upload them again; every other row is checked.</p>
                  <ul class="govuk-list govuk-error-summary__list">{string.Concat(bulk.Rejected.Select(r => $"<li>Row {r.Row.ToString(CultureInfo.InvariantCulture)}: {H(r.Field)}: {H(r.Message)}</li>"))}</ul>
                </div>
              </div>
            </div>
            """;
        string Line(string key, int value, string id) =>
            $"""<div class="govuk-summary-list__row"><dt class="govuk-summary-list__key">{key}</dt><dd class="govuk-summary-list__value" id="{id}">{value.ToString(CultureInfo.InvariantCulture)}</dd></div>""";
        var download = state == "completed"
            ? $"""<a class="govuk-button" href="{ResultsPath}" download>Download the results (CSV)</a>"""
            : finished ? "" : """<p class="govuk-body">This page updates itself every 2 seconds.</p>""";
        var body = $"""
            {rejected}
            <span class="govuk-caption-l">Bulk check for {H(bulk.Scheme.Name)} – {H(bulk.Council.Name)}</span>
            <h1 class="govuk-heading-l" id="bulk-status">{(state switch { "completed" => "Bulk check completed", "cancelled" => "Bulk check cancelled", "queued" => "Bulk check waiting to start", _ => "Bulk check in progress" })}</h1>
            <p class="govuk-body" id="bulk-progress-text">{settled.ToString(CultureInfo.InvariantCulture)} of {total.ToString(CultureInfo.InvariantCulture)} rows done</p>
            <progress class="govuk-!-width-full" max="{total.ToString(CultureInfo.InvariantCulture)}" value="{settled.ToString(CultureInfo.InvariantCulture)}" aria-labelledby="bulk-progress-text"></progress>
            <dl class="govuk-summary-list govuk-!-margin-top-6">
              {Line("Eligible", O("eligible"), "count-eligible")}
              {Line("Not eligible", O("notEligible"), "count-not-eligible")}
              {Line("Not found", O("notFound"), "count-not-found")}
              {Line("Undetermined", O("undetermined"), "count-undetermined")}
              {Line("Refused by the trust framework", N("failed"), "count-failed")}
              {Line("Rows with errors", N("invalid"), "count-invalid")}
              {Line("Cancelled", N("cancelled"), "count-cancelled")}
              {Line("Waiting", N("pending"), "count-pending")}
            </dl>
            {download}
            <p class="govuk-body"><a class="govuk-link" href="{BulkPath}">Check another file</a></p>
            """;
        return Layout("Bulk check", body, finished ? "" : """<meta http-equiv="refresh" content="2">""");
    }
}
