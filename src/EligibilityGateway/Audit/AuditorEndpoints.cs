using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Mvc;

namespace EligibilityGateway.Audit;

/// <summary>
/// The auditor API (README.md, "Auditor API"): events with filters and cursor paging, subject search,
/// verification, checkpoints and streamed export, for clients holding <c>audit.read</c>. Every read is bounded by the
/// calling auditor's scope inside the store query (<see cref="AuditQuery.ScopeCouncilId"/>).
/// </summary>
internal static partial class AuditorEndpoints
{
    public const string TypePrefix = CheckProblems.TypePrefix;

    /// <summary>403: the request reaches outside the auditor's scope (another council, or the whole log for a council auditor).</summary>
    public const string OutsideScopeType = TypePrefix + "outside-audit-scope";

    public const int DefaultLimit = 100;
    public const int MaxLimit = 500;

    private static readonly JsonSerializerOptions SubjectSearchJson = new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        MaxDepth = 4,
        TypeInfoResolver = AuditApiJsonContext.Default,
    };

    public static IEndpointRouteBuilder MapAuditorEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var keyRing = endpoints.ServiceProvider.GetRequiredService<KeyRing>();
        var keys = new AuditCheckpointVerifier(Encoding.UTF8.GetString(AuditKeySet.Serialize(keyRing.PublicAuditKeys())));

        var audit = endpoints.MapGroup("/v1/audit")
            .RequireAuthorization(GatewayScopes.AuditRead)
            .WithTags("Audit");

        audit.MapGet("/events", ListEventsAsync)
            .WithName("ListAuditEvents")
            .WithSummary("Audit events within the auditor's scope, filtered, a page at a time")
            .WithDescription("Newest first by default. `next` is an opaque cursor for the following page, stable while records are appended; null when there is no more now.")
            .Produces<AuditEventsPage>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        audit.MapPost("/subject-search", SearchSubjectAsync)
            .WithName("SearchAuditEventsBySubject")
            .WithSummary("Every audit event about one person, within the auditor's scope")
            .WithDescription("The identifiers go in the body, never in a URL; the gateway turns them into the subject reference the log holds. Paged like `GET /v1/audit/events`.")
            .Accepts<AuditSubjectSearchBody>("application/json")
            .Produces<AuditEventsPage>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        audit.MapGet("/verify", (HttpContext context, TrustFrameworkMonitor frameworks, IAuditStore store, ILoggerFactory loggers) =>
                VerifyAsync(context, frameworks, store, keys, loggers))
            .WithName("VerifyAuditLog")
            .WithSummary("Verify the whole audit chain and its signed checkpoints (all-councils auditors only)")
            .Produces<AuditVerifyResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        audit.MapGet("/checkpoints", ListCheckpointsAsync)
            .WithName("ListAuditCheckpoints")
            .WithSummary("The signed checkpoints, a page at a time (all-councils auditors only)")
            .Produces<AuditCheckpointsPage>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        audit.MapGet("/export", ExportAsync)
            .WithName("ExportAuditEvents")
            .WithSummary("Every audit event within the auditor's scope that matches the filters, streamed as CSV or JSON lines")
            .WithDescription("Oldest first, from one snapshot, every stored column including `hash` (src/EligibilityGateway/Audit/README.md, \"Export\").")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .Produces(StatusCodes.Status200OK, contentType: "application/x-ndjson")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden);

        return endpoints;
    }

    private static async Task<IResult> ListEventsAsync(
        HttpContext context, TrustFrameworkMonitor frameworks, IAuditStore store, [AsParameters] AuditFilterParameters filters, [AsParameters] AuditPagingParameters paging)
    {
        if (!context.TryGetCallerAuditor(frameworks.Current, out var auditor))
        {
            return OutsideScope("This client is not an auditor in the trust framework in force.");
        }

        var errors = new ValidationErrors();
        var query = ParseFilters(filters, errors);
        var page = ParsePaging(paging, errors);
        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        if (Scope(auditor.Scope, query!) is not { } scoped)
        {
            return OutsideScope($"This auditor's scope is the council '{auditor.Scope.CouncilId}'; it cannot read another council's events.");
        }

        return await PageAsync(store, scoped, page!, context.RequestAborted);
    }

    private static async Task<IResult> SearchSubjectAsync(
        HttpContext context, TrustFrameworkMonitor frameworks, IAuditStore store, SubjectReferences subjects, TimeProvider timeProvider, [AsParameters] AuditPagingParameters paging)
    {
        if (!context.TryGetCallerAuditor(frameworks.Current, out var auditor))
        {
            return OutsideScope("This client is not an auditor in the trust framework in force.");
        }

        var errors = new ValidationErrors();
        var page = ParsePaging(paging, errors);
        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        var body = await CheckEndpoints.ReadBodyAsync(context, SubjectSearchJson.GetTypeInfo(typeof(AuditSubjectSearchBody)), "subject search");
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        var subjectErrors = new ValidationErrors();
        var today = DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime);
        if (SubjectReferenceOf((AuditSubjectSearchBody)body.Value!, subjects, today, subjectErrors) is not { } reference)
        {
            return Invalid(subjectErrors);
        }

        var query = new AuditQuery { ScopeCouncilId = auditor.Scope.CouncilId, SubjectReference = reference };
        return await PageAsync(store, query, page!, context.RequestAborted);
    }

    /// <summary>
    /// The subject reference of the person a subject search names, or null with <paramref name="errors"/> naming the
    /// search's members (<c>nationalInsuranceNumber</c>, <c>nationalAsylumSeekerServiceNumber</c>, <c>dateOfBirth</c>).
    /// The API's subject search and the auditor pages' share it. Personal data: never logged.
    /// </summary>
    internal static string? SubjectReferenceOf(AuditSubjectSearchBody search, SubjectReferences subjects, DateOnly today, ValidationErrors errors)
    {
        // The check API's own rules, so that a person is searched for exactly as a check about them was recorded.
        // The reference leaves the surname out (SubjectReferences), so any valid name stands in for it here.
        var validation = CheckRequestValidator.Validate(
            new CheckRequestBody("subject-search", "public-task", "subject-search", new SubjectBody(search.NationalInsuranceNumber, search.NationalAsylumSeekerServiceNumber, "Search", search.DateOfBirth)),
            _ => true,
            today);
        if (validation.Request is null)
        {
            foreach (var (field, messages) in validation.Errors.ToDictionary())
            {
                foreach (var message in messages)
                {
                    errors.Add(field.StartsWith("subject.", StringComparison.Ordinal) ? field["subject.".Length..] : field, message);
                }
            }

            return null;
        }

        return subjects.Compute(validation.Request.Subject);
    }

    private static async Task<IResult> VerifyAsync(HttpContext context, TrustFrameworkMonitor frameworks, IAuditStore store, AuditCheckpointVerifier keys, ILoggerFactory loggers)
    {
        if (!context.TryGetCallerAuditor(frameworks.Current, out var auditor) || !auditor.Scope.IsAllCouncils)
        {
            return OutsideScope("Verification covers the whole log, every council's records; only an all-councils auditor may run it.");
        }

        var result = await AuditVerifier.VerifyAsync(store, keys, context.RequestAborted);
        var logger = loggers.CreateLogger(typeof(AuditorEndpoints));
        switch (result)
        {
            case AuditVerification.Valid valid:
                Log.AuditVerified(logger, auditor.Id, valid.Count, valid.LastSequence);
                return TypedResults.Json(
                    new AuditVerifyResponse(true, valid.Count, valid.LastSequence, valid.LastCheckpoint?.Sequence, null, null,
                        valid.Purged is { } purged ? new AuditPurgedView(1, purged.LastSequence, purged.AnchorCheckpoint, purged.PurgeEventSequence) : null),
                    AuditApiJsonContext.Default.AuditVerifyResponse);
            case AuditVerification.Invalid invalid:
                Log.AuditVerificationFailed(logger, auditor.Id, invalid.FirstBadSequence);
                return TypedResults.Json(
                    new AuditVerifyResponse(false, null, null, null, invalid.FirstBadSequence, invalid.Reason),
                    AuditApiJsonContext.Default.AuditVerifyResponse);
            default:
                throw new InvalidOperationException($"Unhandled verification result {result.GetType().Name}.");
        }
    }

    private static async Task<IResult> ListCheckpointsAsync(HttpContext context, TrustFrameworkMonitor frameworks, IAuditStore store, [AsParameters] AuditPagingParameters paging)
    {
        if (!context.TryGetCallerAuditor(frameworks.Current, out var auditor) || !auditor.Scope.IsAllCouncils)
        {
            return OutsideScope("Checkpoints sign the head of the whole log; only an all-councils auditor may read them.");
        }

        var errors = new ValidationErrors();
        var page = ParsePaging(paging, errors);
        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        // Checkpoints are one per Audit:Checkpoints:EveryRecords records (a thousandth of the log by default), so the
        // store's full list is paged here rather than adding a paged read every store must implement.
        var all = await store.ReadCheckpointsAsync(context.RequestAborted);
        IEnumerable<AuditCheckpoint> walk = page!.Order == AuditOrder.Descending ? all.Reverse() : all;
        if (page.After is { } after)
        {
            walk = walk.Where(c => page.Order == AuditOrder.Descending ? c.Sequence < after : c.Sequence > after);
        }

        var taken = walk.Take(page.Limit + 1).ToList();
        var more = taken.Count > page.Limit;
        var shown = taken.Take(page.Limit).Select(c => new AuditCheckpointView(c.Sequence, c.HeadHash, c.IssuedAt.UtcDateTime, c.PreviousCheckpoint, c.KeyId, c.Jws)).ToList();
        return TypedResults.Json(
            new AuditCheckpointsPage(shown, more ? AuditCursor.Encode(shown[^1].Sequence, page.Order) : null),
            AuditApiJsonContext.Default.AuditCheckpointsPage);
    }

    private static async Task<IResult> ExportAsync(
        HttpContext context, TrustFrameworkMonitor frameworks, IAuditStore store, ILoggerFactory loggers, [AsParameters] AuditFilterParameters filters,
        [FromQuery(Name = "format"), System.ComponentModel.Description("`csv` or `jsonl` (the default).")] string? format)
    {
        if (!context.TryGetCallerAuditor(frameworks.Current, out var auditor))
        {
            return OutsideScope("This client is not an auditor in the trust framework in force.");
        }

        var errors = new ValidationErrors();
        var query = ParseFilters(filters, errors);
        format ??= "jsonl";
        if (!AuditExport.Formats.Contains(format))
        {
            errors.Add("format", "The format must be 'csv' or 'jsonl'.");
        }

        if (errors.Count > 0)
        {
            return Invalid(errors);
        }

        if (Scope(auditor.Scope, query!) is not { } scoped)
        {
            return OutsideScope($"This auditor's scope is the council '{auditor.Scope.CouncilId}'; it cannot export another council's events.");
        }

        await WriteExportAsync(context, store, scoped, format, auditor.Id, loggers.CreateLogger(typeof(AuditorEndpoints)));
        return TypedResults.Empty;
    }

    /// <summary>
    /// Streams every record of <paramref name="scoped"/> (already bounded by the auditor's scope) as the response, in
    /// <paramref name="format"/> (<c>csv</c> or <c>jsonl</c>), and logs the export: the API's export and the auditor
    /// pages' download links share it.
    /// </summary>
    internal static async Task WriteExportAsync(HttpContext context, IAuditStore store, AuditQuery scoped, string format, string auditorId, ILogger logger)
    {
        var response = context.Response;
        response.ContentType = format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
        response.Headers.ContentDisposition = $"attachment; filename=\"audit.{format}\"";
        response.Headers.CacheControl = "no-store";

        // Rows go from the store's reader straight to the response pipe, a chunk at a time: nothing holds the export.
        var body = new ChunkedPipeStream(response.BodyWriter);
        var rows = store.StreamAsync(scoped, context.RequestAborted);
        long count;
        if (format == "csv")
        {
            await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 16 * 1024, leaveOpen: true);
            count = await AuditExport.WriteCsvAsync(rows, writer, context.RequestAborted);
        }
        else
        {
            count = await AuditExport.WriteJsonLinesAsync(rows, body, context.RequestAborted);
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted);
        Log.AuditExported(logger, auditorId, format, count);
    }

    private static async Task<IResult> PageAsync(IAuditStore store, AuditQuery query, AuditPageRequest page, CancellationToken cancellationToken)
    {
        // One more than asked tells whether another page follows, so the last page says next: null.
        var rows = await store.QueryAsync(query, page with { Limit = page.Limit + 1 }, cancellationToken);
        var shown = rows.Take(page.Limit).Select(AuditEvent.From).ToList();
        var next = rows.Count > page.Limit ? AuditCursor.Encode(shown[^1].Sequence, page.Order) : null;
        return TypedResults.Json(new AuditEventsPage(shown, next), AuditApiJsonContext.Default.AuditEventsPage);
    }

    /// <summary>
    /// The query bounded by the auditor's scope, or null when its <c>council</c> filter names a council outside it
    /// (answered 403 rather than an empty page, so that a mistaken filter is not taken for "no events").
    /// </summary>
    internal static AuditQuery? Scope(AuditScope scope, AuditQuery query)
    {
        if (query.CouncilId is { } council && !scope.Covers(council))
        {
            return null;
        }

        return query with { ScopeCouncilId = scope.CouncilId };
    }

    internal static AuditQuery? ParseFilters(AuditFilterParameters filters, ValidationErrors errors)
    {
        var from = Instant(filters.From, "from", errors);
        var to = Instant(filters.To, "to", errors);
        if (from is { } f && to is { } t && t <= f)
        {
            errors.Add("to", "'to' must be later than 'from'.");
        }

        var query = new AuditQuery
        {
            From = from,
            To = to,
            CouncilId = Identifier(filters.Council, "council", errors),
            SchemeId = Identifier(filters.Scheme, "scheme", errors),
            Outcome = OneOf(filters.Outcome, "outcome", errors, "eligible", "not-eligible", "not-found", "undetermined"),
            Decision = OneOf(filters.Decision, "decision", errors, AuditDecisions.Allow, AuditDecisions.Deny),
            LawfulBasis = OneOf(filters.LawfulBasis, "lawfulBasis", errors, "consent", "public-task"),
            ConsentId = Identifier(filters.ConsentId, "consentId", errors),
            EventType = filters.EventType is null ? null
                : EventTypePattern().IsMatch(filters.EventType) ? filters.EventType
                : Error<string>(errors, "eventType", "An event type is lower-case words joined by '-' and '.', such as 'check' or 'consent.revoked'."),
        };
        return query;
    }

    internal static AuditPageRequest? ParsePaging(AuditPagingParameters paging, ValidationErrors errors)
    {
        var limit = DefaultLimit;
        if (paging.Limit is not null
            && (!int.TryParse(paging.Limit, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            errors.Add("limit", $"The limit must be a whole number from 1 to {MaxLimit}.");
        }

        var order = AuditOrder.Descending;
        if (paging.Order is not null && !AuditCursor.TryParseOrder(paging.Order, out order))
        {
            errors.Add("order", "The order must be 'asc' or 'desc'.");
        }

        long? after = null;
        if (paging.Cursor is not null)
        {
            if (!AuditCursor.TryDecode(paging.Cursor, out var sequence, out var cursorOrder))
            {
                errors.Add("cursor", "Not a cursor this gateway issued; pass the 'next' of the previous page unchanged.");
            }
            else if (paging.Order is not null && cursorOrder != order)
            {
                errors.Add("cursor", "The cursor belongs to a walk in the other order.");
            }
            else
            {
                after = sequence;
                order = cursorOrder;
            }
        }

        return errors.Count > 0 ? null : new AuditPageRequest(after, limit, order);
    }

    // RFC 3339 §5.6 date-time: a full date, 'T', a time with optional fraction, and Z or a numeric offset.
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,7})?([Zz]|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex DateTimePattern();

    [GeneratedRegex(@"^[a-z]+(-[a-z]+)*(\.[a-z]+(-[a-z]+)*)*$", RegexOptions.CultureInvariant)]
    private static partial Regex EventTypePattern();

    private static DateTimeOffset? Instant(string? value, string field, ValidationErrors errors)
    {
        if (value is null)
        {
            return null;
        }

        if (DateTimePattern().IsMatch(value)
            && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
        {
            return instant;
        }

        errors.Add(field, $"'{field}' must be an RFC 3339 date-time with an offset, such as 2026-01-31T09:00:00Z.");
        return null;
    }

    private static string? Identifier(string? value, string field, ValidationErrors errors) =>
        value is null ? null
        : value.Length is > 0 and <= 128 && !string.IsNullOrWhiteSpace(value) && !value.Any(char.IsControl) ? value
        : Error<string>(errors, field, $"'{field}' must be 1 to 128 printable characters.");

    private static string? OneOf(string? value, string field, ValidationErrors errors, params string[] allowed) =>
        value is null ? null
        : allowed.Contains(value, StringComparer.Ordinal) ? value
        : Error<string>(errors, field, $"'{field}' must be one of: {string.Join(", ", allowed)}.");

    private static T? Error<T>(ValidationErrors errors, string field, string message)
        where T : class
    {
        errors.Add(field, message);
        return null;
    }

    private static IResult Invalid(ValidationErrors errors) => TypedResults.ValidationProblem(
        errors.ToDictionary(),
        title: "The request is not valid.",
        detail: "See errors for each parameter that failed.",
        type: CheckProblems.ValidationType);

    private static IResult OutsideScope(string detail) => TypedResults.Problem(new ProblemDetails
    {
        Status = StatusCodes.Status403Forbidden,
        Type = OutsideScopeType,
        Title = "Outside this auditor's scope.",
        Detail = detail,
    });

    /// <summary>
    /// A write-only stream over the response pipe for <see cref="AuditExport"/>, whose JSON-lines writer ends each line
    /// with a synchronous one-byte write: writes copy into the pipe (never blocking), and the pipe is flushed to the
    /// client, with its back-pressure, once 16 KiB are waiting, rather than after every row.
    /// </summary>
    private sealed class ChunkedPipeStream(PipeWriter pipe) : Stream
    {
        private const int FlushThreshold = 16 * 1024;
        private long unflushed;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            pipe.Write(buffer);
            unflushed += buffer.Length;
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            if (unflushed >= FlushThreshold)
            {
                unflushed = 0;
                await pipe.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        // Synchronous flushes (StreamWriter's dispose) leave the bytes in the pipe; the endpoint flushes it at the end.
        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1540, Level = LogLevel.Information, Message = "Auditor {AuditorId} verified the audit log: valid, {RecordCount} records up to sequence {LastSequence}")]
        public static partial void AuditVerified(ILogger logger, string auditorId, long recordCount, long lastSequence);

        [LoggerMessage(EventId = 1541, Level = LogLevel.Critical, Message = "Auditor {AuditorId} verified the audit log: INVALID from sequence {FirstBadSequence}")]
        public static partial void AuditVerificationFailed(ILogger logger, string auditorId, long firstBadSequence);

        [LoggerMessage(EventId = 1542, Level = LogLevel.Information, Message = "Auditor {AuditorId} exported {RecordCount} audit records as {Format}")]
        public static partial void AuditExported(ILogger logger, string auditorId, string format, long recordCount);
    }
}
