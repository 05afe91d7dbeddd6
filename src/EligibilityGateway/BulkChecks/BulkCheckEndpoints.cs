using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using EligibilityGateway.Audit;
using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.BulkChecks;

/// <summary>Checked items by outcome.</summary>
internal sealed record BulkOutcomeCounts(int Eligible, int NotEligible, int NotFound, int Undetermined);

/// <summary>The status resource of a bulk check (README.md, "Status"); <c>rejectedRows</c> only in the answer to the submission.</summary>
internal sealed record BulkCheckStatusResponse(
    string BulkCheckId,
    string Status,
    string Scheme,
    string LawfulBasis,
    DateTime CreatedAt,
    DateTime? StartedAt,
    DateTime? FinishedAt,
    DateTime? ExpiresAt,
    int Total,
    int Pending,
    int Completed,
    int Failed,
    int Invalid,
    int Cancelled,
    BulkOutcomeCounts Outcomes,
    string Results,
    string Export,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<BulkRowError>? RejectedRows);

/// <summary>A field a row broke, as a result row carries it.</summary>
internal sealed record BulkFieldError(string Field, string Message);

/// <summary>One row of the results (README.md, "Results"): never personal data, only the council's case reference.</summary>
internal sealed record BulkResultResponse(
    int Row,
    string? CaseReference,
    string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? CheckId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Outcome,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ServedFrom,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTime? CheckedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTime? ValidUntil,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? ConfirmedBy,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? AuditSequence,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Rule,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<BulkFieldError>? Errors);

/// <summary>A page of results and the cursor of the next one (null on the last page).</summary>
internal sealed record BulkResultPage(IReadOnlyList<BulkResultResponse> Results, string? Next);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(BulkCheckStatusResponse))]
[JsonSerializable(typeof(BulkResultPage))]
[JsonSerializable(typeof(BulkResultResponse))]
[JsonSerializable(typeof(List<BulkFieldError>))]
internal sealed partial class BulkCheckJsonContext : JsonSerializerContext;

/// <summary>The bulk-check API's own problem types (add, never rename).</summary>
internal static class BulkCheckProblems
{
    public const string NotFoundType = CheckProblems.TypePrefix + "bulk-check-not-found";
    public const string TooLargeType = CheckProblems.TypePrefix + "bulk-check-too-large";

    /// <summary>A consent-bound token is about one citizen; a bulk check is not made under it.</summary>
    public const string UnderConsentRule = "deny:bulk-check-under-consent";

    public static IResult NotFound() => CheckProblems.Problem(
        StatusCodes.Status404NotFound, NotFoundType, "No such bulk check.", "There is no bulk check with this id that this client may see.");

    public static IResult TooLarge() => CheckProblems.Problem(
        StatusCodes.Status413PayloadTooLarge, TooLargeType, "The bulk check is too large.",
        $"A bulk check holds at most {BulkCheckLimits.MaxRows:N0} rows and {BulkCheckLimits.MaxBodyBytes / (1024 * 1024)} MiB.");
}

/// <summary><c>/v1/bulk-checks</c> (README.md).</summary>
internal static class BulkCheckEndpoints
{
    public const string Path = "/v1/bulk-checks";
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    public static IEndpointRouteBuilder MapBulkCheckEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var bulk = endpoints.MapGroup(Path)
            .RequireAuthorization(GatewayScopes.EligibilityCheck)
            .WithTags("Bulk checks");

        bulk.MapPost("", PostAsync)
            .WithName("CreateBulkCheck")
            .WithSummary("Check up to 10,000 people for one scheme, asynchronously")
            .Accepts<List<BulkRowBody>>("application/json", "text/csv")
            .Produces<BulkCheckStatusResponse>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        bulk.MapGet("/{bulkCheckId}", GetAsync)
            .WithName("GetBulkCheck")
            .WithSummary("Progress of a bulk check: status and counts by state and outcome")
            .Produces<BulkCheckStatusResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        bulk.MapDelete("/{bulkCheckId}", DeleteAsync)
            .WithName("CancelBulkCheck")
            .WithSummary("Cancel a bulk check: items not yet started are not checked")
            .Produces<BulkCheckStatusResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        bulk.MapGet("/{bulkCheckId}/results", ResultsAsync)
            .WithName("GetBulkCheckResults")
            .WithSummary("The rows of a bulk check in row order, one page at a time")
            .Produces<BulkResultPage>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        bulk.MapGet("/{bulkCheckId}/export", ExportAsync)
            .WithName("ExportBulkCheckResults")
            .WithSummary("Every row of a bulk check as CSV or JSON lines")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv", additionalContentTypes: ["application/x-ndjson"])
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return endpoints;
    }

    private static async Task<IResult> PostAsync(
        HttpContext context,
        string? scheme,
        string? lawfulBasis,
        TrustFrameworkMonitor frameworks,
        PolicyEngine policy,
        IBulkCheckStore store,
        BulkSubjectProtector protector,
        BulkCheckProcessor processor,
        TimeProvider time,
        ILogger<BulkCheckProcessor> logger)
    {
        var framework = frameworks.Current;
        if (!context.TryGetCallerCouncil(framework, out var council))
        {
            return CheckProblems.NotPermitted(PolicyRules.UnknownCouncil);
        }

        if (context.GetConsentId() is not null)
        {
            return CheckProblems.NotPermitted(BulkCheckProblems.UnderConsentRule);
        }

        var errors = new ValidationErrors();
        CheckRequestValidator.ValidateScheme(scheme, id => framework.TryGetScheme(id, out _), errors);
        if (lawfulBasis is not ("consent" or "public-task"))
        {
            errors.Add("lawfulBasis", "The lawful basis is required, in the query: 'public-task' (a bulk check is not made under consent).");
        }

        if (errors.Count > 0)
        {
            return CheckProblems.Validation(errors);
        }

        var request = context.Request;
        var isCsv = request.ContentType is { } type && type.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase);
        if (!isCsv && !request.HasJsonContentType())
        {
            return CheckProblems.UnsupportedMediaType();
        }

        if (request.ContentLength > BulkCheckLimits.MaxBodyBytes)
        {
            return BulkCheckProblems.TooLarge();
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = BulkCheckLimits.MaxBodyBytes;
        }

        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, context.RequestAborted);
            if (buffer.Length > BulkCheckLimits.MaxBodyBytes)
            {
                return BulkCheckProblems.TooLarge();
            }

            body = buffer.ToArray();
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return BulkCheckProblems.TooLarge();
        }

        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var input = isCsv ? BulkCheckInput.ReadCsv(body, today) : BulkCheckInput.ReadJson(body, today);
        if (input.OverRowLimit)
        {
            return BulkCheckProblems.TooLarge();
        }

        if (input.WholeUploadError)
        {
            var whole = new ValidationErrors();
            whole.Add(input.Errors[0].Field, input.Errors[0].Message);
            return CheckProblems.Validation(whole);
        }

        if (input.Valid.Count == 0)
        {
            var rows = new ValidationErrors();
            if (input.RowCount == 0)
            {
                rows.Add("body", "The upload holds no rows.");
            }

            foreach (var error in input.Errors)
            {
                rows.Add($"rows[{error.Row}].{error.Field}", error.Message);
            }

            return CheckProblems.Validation(rows);
        }

        // The framework decides for the whole job up front; each item is decided again when its turn comes.
        var decision = policy.Decide(council.Id, scheme!, lawfulBasis!);
        if (decision.IsAllowed && decision.Grant.LawfulBasis.Basis == LawfulBasis.Consent)
        {
            decision = PolicyDecision.Deny(CheckRules.ConsentNotPresented);
        }

        if (!decision.IsAllowed)
        {
            return CheckProblems.NotPermitted(decision.Rule);
        }

        var now = time.GetUtcNow();
        var jobId = Guid.CreateVersion7(now).ToString();
        var job = new BulkJob(jobId, council.Id, context.GetCallerClientId()!, scheme!, lawfulBasis!, CheckService.CurrentTraceId(),
            BulkJobStatus.Queued, input.RowCount, now, null, null, null);
        var errorsByRow = input.Errors.GroupBy(e => e.Row).ToDictionary(g => g.Key, g => g.ToList());
        var validByRow = input.Valid.ToDictionary(v => v.Row);
        var items = new List<NewBulkItem>(input.RowCount);
        for (var row = 1; row <= input.RowCount; row++)
        {
            if (validByRow.TryGetValue(row, out var valid))
            {
                items.Add(new NewBulkItem(row, Guid.CreateVersion7(now).ToString(), valid.CaseReference, protector.Seal(jobId, row, valid.Subject), null));
            }
            else
            {
                var rowErrors = errorsByRow[row].Select(e => new BulkFieldError(e.Field, e.Message)).ToList();
                items.Add(new NewBulkItem(row, null, null, null, JsonSerializer.Serialize(rowErrors, BulkCheckJsonContext.Default.ListBulkFieldError)));
            }
        }

        await store.CreateAsync(job, items, context.RequestAborted);
        Log.Accepted(logger, jobId, council.Id, scheme!, input.RowCount, input.InvalidRows);
        processor.Wake();
        var counts = await store.CountAsync(jobId, context.RequestAborted);
        var location = $"{Path}/{jobId}";
        return TypedResults.Accepted(location, Status(job, counts) with { RejectedRows = input.Errors });
    }

    private static async Task<IResult> GetAsync(string bulkCheckId, HttpContext context, TrustFrameworkMonitor frameworks, IBulkCheckStore store)
    {
        if (await FindAsync(bulkCheckId, context, frameworks, store) is not { } job)
        {
            return BulkCheckProblems.NotFound();
        }

        return Json(Status(job, await store.CountAsync(job.JobId, context.RequestAborted)));
    }

    private static async Task<IResult> DeleteAsync(
        string bulkCheckId, HttpContext context, TrustFrameworkMonitor frameworks, IBulkCheckStore store, IOptions<BulkCheckOptions> options,
        BulkCheckProcessor processor, TimeProvider time, ILogger<BulkCheckProcessor> logger)
    {
        if (await FindAsync(bulkCheckId, context, frameworks, store) is not { } job)
        {
            return BulkCheckProblems.NotFound();
        }

        var after = await store.CancelAsync(job.JobId, job.CouncilId, time.GetUtcNow(), options.Value.Retention, context.RequestAborted);
        if (after is null)
        {
            return BulkCheckProblems.NotFound();
        }

        if (job.Status is BulkJobStatus.Queued or BulkJobStatus.Running)
        {
            Log.Cancelled(logger, job.JobId, job.CouncilId);
            processor.Cancelled(job.JobId);
        }

        return Json(Status(after, await store.CountAsync(job.JobId, context.RequestAborted)));
    }

    private static async Task<IResult> ResultsAsync(
        string bulkCheckId, string? cursor, int? limit, HttpContext context, TrustFrameworkMonitor frameworks, IBulkCheckStore store)
    {
        if (await FindAsync(bulkCheckId, context, frameworks, store) is not { } job)
        {
            return BulkCheckProblems.NotFound();
        }

        var errors = new ValidationErrors();
        var after = 0;
        if (cursor is not null && !TryReadCursor(cursor, out after))
        {
            errors.Add("cursor", "Not a cursor this API gave out: pass the 'next' of the previous page unchanged.");
        }

        if (limit is < 1 or > MaxPageSize)
        {
            errors.Add("limit", $"The page size must be between 1 and {MaxPageSize}.");
        }

        if (errors.Count > 0)
        {
            return CheckProblems.Validation(errors);
        }

        var size = limit ?? DefaultPageSize;
        var rows = await store.ReadResultsAsync(job.JobId, after, size, context.RequestAborted);
        var next = rows.Count == size && rows[^1].Row < job.Total ? WriteCursor(rows[^1].Row) : null;
        return TypedResults.Json(new BulkResultPage([.. rows.Select(Result)], next), BulkCheckJsonContext.Default.BulkResultPage);
    }

    private static async Task ExportAsync(
        string bulkCheckId, string? format, HttpContext context, TrustFrameworkMonitor frameworks, IBulkCheckStore store)
    {
        var job = await FindAsync(bulkCheckId, context, frameworks, store);
        if (job is null)
        {
            await BulkCheckProblems.NotFound().ExecuteAsync(context);
            return;
        }

        if (format is not (null or "csv" or "jsonl"))
        {
            var errors = new ValidationErrors();
            errors.Add("format", "The format must be 'csv' (the default) or 'jsonl'.");
            await CheckProblems.Validation(errors).ExecuteAsync(context);
            return;
        }

        var csv = format is null or "csv";
        var response = context.Response;
        response.ContentType = csv ? "text/csv; charset=utf-8" : "application/x-ndjson";
        response.Headers.ContentDisposition = $"attachment; filename=\"bulk-check-{job.JobId}.{(csv ? "csv" : "jsonl")}\"";
        var line = new StringBuilder();
        if (csv)
        {
            line.Append(string.Join(',', CsvHeader)).Append("\r\n");
        }

        var written = 0;
        await foreach (var row in store.StreamResultsAsync(job.JobId, 0, int.MaxValue, context.RequestAborted))
        {
            var result = Result(row);
            if (csv)
            {
                AppendCsv(line, result);
            }
            else
            {
                line.Append(JsonSerializer.Serialize(result, BulkCheckJsonContext.Default.BulkResultResponse)).Append('\n');
            }

            if (++written % 256 == 0)
            {
                await response.WriteAsync(line.ToString(), context.RequestAborted);
                line.Clear();
            }
        }

        await response.WriteAsync(line.ToString(), context.RequestAborted);
    }

    /// <summary>The CSV columns of the export, in order (README.md, "Results").</summary>
    public static readonly string[] CsvHeader =
        ["row", "caseReference", "status", "checkId", "outcome", "servedFrom", "checkedAt", "validUntil", "confirmedBy", "auditSequence", "rule", "errors"];

    private static void AppendCsv(StringBuilder line, BulkResultResponse result)
    {
        string?[] fields =
        [
            result.Row.ToString(CultureInfo.InvariantCulture),
            result.CaseReference,
            result.Status,
            result.CheckId,
            result.Outcome,
            result.ServedFrom,
            result.CheckedAt?.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture),
            result.ValidUntil?.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture),
            result.ConfirmedBy is { } by ? string.Join(' ', by) : null,
            result.AuditSequence?.ToString(CultureInfo.InvariantCulture),
            result.Rule,
            result.Errors is { } errors ? string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")) : null,
        ];
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0)
            {
                line.Append(',');
            }

            CsvField.Append(line, fields[i]);
        }

        line.Append("\r\n");
    }

    private static async Task<BulkJob?> FindAsync(string bulkCheckId, HttpContext context, TrustFrameworkMonitor frameworks, IBulkCheckStore store)
    {
        // Another council's job, an unknown id and a malformed one all look the same: 404.
        if (!context.TryGetCallerCouncil(frameworks.Current, out var council) || !Guid.TryParseExact(bulkCheckId, "D", out _))
        {
            return null;
        }

        return await store.FindAsync(bulkCheckId, council.Id, context.RequestAborted);
    }

    private static BulkCheckStatusResponse Status(BulkJob job, BulkCounts counts) => new(
        job.JobId,
        job.Status,
        job.SchemeId,
        job.LawfulBasis,
        job.CreatedAt.UtcDateTime,
        job.StartedAt?.UtcDateTime,
        job.FinishedAt?.UtcDateTime,
        job.PurgeAfter?.UtcDateTime,
        job.Total,
        counts.Pending,
        counts.Completed,
        counts.Failed,
        counts.Invalid,
        counts.Cancelled,
        new BulkOutcomeCounts(counts.Eligible, counts.NotEligible, counts.NotFound, counts.Undetermined),
        $"{Path}/{job.JobId}/results",
        $"{Path}/{job.JobId}/export",
        null);

    private static BulkResultResponse Result(BulkResultRow row) => new(
        row.Row,
        row.CaseReference,
        row.State == BulkItemState.Claimed ? BulkItemState.Pending : row.State,
        row.CheckId,
        row.Outcome,
        row.ServedFrom,
        row.CheckedAt?.UtcDateTime,
        row.ValidUntil?.UtcDateTime,
        row.ConfirmedBy?.Split(' ', StringSplitOptions.RemoveEmptyEntries),
        row.AuditSequence,
        row.Rule,
        row.Errors is { } errors ? JsonSerializer.Deserialize(errors, BulkCheckJsonContext.Default.ListBulkFieldError) : null);

    private static IResult Json(BulkCheckStatusResponse status) => TypedResults.Json(status, BulkCheckJsonContext.Default.BulkCheckStatusResponse);

    // A cursor is base64url of "r<last row shown>": opaque to councils, so its form may change.
    private static string WriteCursor(int row) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes("r" + row.ToString(CultureInfo.InvariantCulture))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static bool TryReadCursor(string cursor, out int row)
    {
        row = 0;
        if (cursor.Length is 0 or > 32)
        {
            return false;
        }

        var padded = cursor.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - (padded.Length % 4)) % 4);
        var bytes = ArrayPool<byte>.Shared.Rent(32);
        try
        {
            return Convert.TryFromBase64String(padded, bytes, out var length)
                && length > 1 && bytes[0] == (byte)'r'
                && int.TryParse(Encoding.ASCII.GetString(bytes, 1, length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out row)
                && row is > 0 and <= BulkCheckLimits.MaxRows;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
