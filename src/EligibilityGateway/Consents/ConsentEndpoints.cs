using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Consents;

/// <summary>The body of <c>POST /v1/consents</c> as sent (README.md, "API").</summary>
/// <param name="ExpiresAt">RFC 3339 date-time with an offset; a string so that a bad value is a field error, not a type error.</param>
internal sealed record ConsentRequestBody(string? Scheme, string? CaseReference, string? ExpiresAt);

/// <summary>A consent as its council sees it (README.md). No personal data: the citizen is never named.</summary>
internal sealed record ConsentResponse(
    string ConsentId,
    string Status,
    string Council,
    string Scheme,
    string Purpose,
    string LawfulBasis,
    ImmutableArray<string> Providers,
    ImmutableArray<string> Released,
    string CaseReference,
    DateTime CreatedAt,
    DateTime ExpiresAt,
    DateTime? AuthorisedAt,
    DateTime? RejectedAt,
    DateTime? RevokedAt,
    string? RevokedBy,
    long UsageCount,
    DateTime? LastUsedAt)
{
    /// <summary>The consent in its state at <paramref name="now"/> (an unrecorded expiry shows as expired).</summary>
    public static ConsentResponse From(Consent consent, DateTimeOffset now) => new(
        consent.ConsentId,
        consent.StatusAt(now).ToName(),
        consent.CouncilId,
        consent.SchemeId,
        consent.Purpose,
        consent.LawfulBasis,
        consent.Providers,
        consent.Released,
        consent.CaseReference,
        consent.CreatedAt.UtcDateTime,
        consent.ExpiresAt.UtcDateTime,
        consent.AuthorisedAt?.UtcDateTime,
        consent.RejectedAt?.UtcDateTime,
        consent.RevokedAt?.UtcDateTime,
        consent.RevokedBy,
        consent.UsageCount,
        consent.LastUsedAt?.UtcDateTime);
}

[JsonSerializable(typeof(ConsentRequestBody))]
internal sealed partial class ConsentRequestJsonContext : JsonSerializerContext;

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ConsentResponse))]
internal sealed partial class ConsentResponseJsonContext : JsonSerializerContext;

/// <summary>Validates <c>POST /v1/consents</c> bodies with the check API's conventions: strict JSON, every failing field named.</summary>
internal static partial class ConsentRequestValidator
{
    /// <summary>Options for reading a body: camelCase exactly, no unknown or repeated members (as for checks).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(CheckRequestValidator.JsonOptions)
    {
        TypeInfoResolver = ConsentRequestJsonContext.Default,
    };

    // RFC 3339 §5.6 date-time: an explicit offset (Z or ±hh:mm) is required, so no instant depends on a server's zone.
    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex DateTimePattern();

    public static (NewConsent? Request, ValidationErrors Errors) Validate(ConsentRequestBody body, Func<string, bool> schemeExists, DateTimeOffset now)
    {
        var errors = new ValidationErrors();
        CheckRequestValidator.ValidateScheme(body.Scheme, schemeExists, errors);
        CheckRequestValidator.ValidateCaseReference(body.CaseReference, errors);

        DateTimeOffset? expiresAt = null;
        if (body.ExpiresAt is not null)
        {
            if (!DateTimePattern().IsMatch(body.ExpiresAt)
                || !DateTimeOffset.TryParse(body.ExpiresAt, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
            {
                errors.Add("expiresAt", "The expiry must be an RFC 3339 date-time with an offset, such as 2026-12-31T23:59:59Z.");
            }
            else if (parsed <= now)
            {
                errors.Add("expiresAt", "The expiry must be in the future.");
            }
            else
            {
                expiresAt = parsed;
            }
        }

        return errors.Count > 0 ? (null, errors) : (new NewConsent(body.Scheme!, body.CaseReference!, expiresAt), errors);
    }
}

/// <summary><c>POST /v1/consents</c>, <c>GET /v1/consents/{id}</c>, <c>DELETE /v1/consents/{id}</c> (README.md).</summary>
internal static class ConsentEndpoints
{
    public const string NotFoundType = CheckProblems.TypePrefix + "consent-not-found";
    public const string NotRevocableType = CheckProblems.TypePrefix + "consent-not-revocable";

    public static IEndpointRouteBuilder MapConsentEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var consents = endpoints.MapGroup("/v1/consents")
            .RequireAuthorization(GatewayScopes.ConsentsManage)
            .WithTags("Consents");

        consents.MapPost("", PostAsync)
            .WithName("CreateConsent")
            .WithSummary("Create a consent for a citizen to authorise")
            .Accepts<ConsentRequestBody>("application/json")
            .Produces<ConsentResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        consents.MapGet("/{consentId}", GetAsync)
            .WithName("GetConsent")
            .WithSummary("Read a consent this council created")
            .Produces<ConsentResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        consents.MapDelete("/{consentId}", DeleteAsync)
            .WithName("RevokeConsent")
            .WithSummary("Revoke a consent this council created")
            .Produces<ConsentResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return endpoints;
    }

    private static async Task<IResult> PostAsync(HttpContext context, TrustFrameworkMonitor frameworks, ConsentService consents, TimeProvider timeProvider)
    {
        var framework = frameworks.Current;
        if (!context.TryGetCallerCouncil(framework, out var council))
        {
            return NotPermitted(PolicyRules.UnknownCouncil);
        }

        var body = await CheckEndpoints.ReadBodyAsync(context, ConsentRequestValidator.JsonOptions.GetTypeInfo(typeof(ConsentRequestBody)), "consent");
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        var (request, errors) = ConsentRequestValidator.Validate((ConsentRequestBody)body.Value!, scheme => framework.TryGetScheme(scheme, out _), timeProvider.GetUtcNow());
        if (request is null)
        {
            return CheckProblems.Validation(errors);
        }

        var caller = new ConsentCaller(council, context.GetCallerClientId()!, CheckService.CurrentTraceId());
        return await consents.CreateAsync(caller, request, context.RequestAborted) switch
        {
            ConsentCreation.Created created => Created(context, created.Consent, timeProvider),
            ConsentCreation.Denied denied => NotPermitted(denied.Rule),
            ConsentCreation.AuditUnavailable => AuditUnavailable(),
            var other => throw new InvalidOperationException($"Unhandled consent creation {other.GetType().Name}."),
        };
    }

    private static async Task<IResult> GetAsync(string consentId, HttpContext context, TrustFrameworkMonitor frameworks, ConsentService consents, TimeProvider timeProvider)
    {
        if (!context.TryGetCallerCouncil(frameworks.Current, out var council))
        {
            return NotPermitted(PolicyRules.UnknownCouncil);
        }

        var consent = await FindOwnAsync(consentId, council.Id, consents, context.RequestAborted);
        return consent is null ? NotFound() : Ok(consent, timeProvider);
    }

    private static async Task<IResult> DeleteAsync(string consentId, HttpContext context, TrustFrameworkMonitor frameworks, ConsentService consents, TimeProvider timeProvider)
    {
        if (!context.TryGetCallerCouncil(frameworks.Current, out var council))
        {
            return NotPermitted(PolicyRules.UnknownCouncil);
        }

        // Ownership first: another council's consent is not found, and cannot be revoked through this endpoint.
        if (await FindOwnAsync(consentId, council.Id, consents, context.RequestAborted) is null)
        {
            return NotFound();
        }

        return await consents.RevokeAsync(consentId, ConsentRevoker.Council(context.GetCallerClientId()!), context.RequestAborted) switch
        {
            ConsentChange.Made made => Ok(made.Consent, timeProvider),
            ConsentChange.Unchanged unchanged => Ok(unchanged.Consent, timeProvider),
            ConsentChange.Refused refused => CheckProblems.Problem(
                StatusCodes.Status409Conflict, NotRevocableType, "The consent cannot be revoked.", refused.Reason,
                new Dictionary<string, object?> { ["consentId"] = consentId, ["consentStatus"] = refused.Status.ToName() }),
            ConsentChange.NotFound => NotFound(),
            ConsentChange.AuditUnavailable => AuditUnavailable(),
            var other => throw new InvalidOperationException($"Unhandled consent change {other.GetType().Name}."),
        };
    }

    private static async Task<Consent?> FindOwnAsync(string consentId, string councilId, ConsentService consents, CancellationToken cancellationToken)
    {
        // Ids are ours and well-formed; anything else cannot name a consent, and says no more than "not found".
        if (!Guid.TryParseExact(consentId, "D", out _))
        {
            return null;
        }

        var consent = await consents.FindAsync(consentId, cancellationToken);
        return consent is not null && string.Equals(consent.CouncilId, councilId, StringComparison.Ordinal) ? consent : null;
    }

    /// <summary>201 with <c>Location</c>, the consent's own URL (RFC 9110 §15.3.2).</summary>
    private static IResult Created(HttpContext context, Consent consent, TimeProvider timeProvider)
    {
        context.Response.Headers.Location = $"/v1/consents/{consent.ConsentId}";
        return TypedResults.Json(ConsentResponse.From(consent, timeProvider.GetUtcNow()), ConsentResponseJsonContext.Default.ConsentResponse, statusCode: StatusCodes.Status201Created);
    }

    private static IResult Ok(Consent consent, TimeProvider timeProvider) =>
        TypedResults.Json(ConsentResponse.From(consent, timeProvider.GetUtcNow()), ConsentResponseJsonContext.Default.ConsentResponse);

    private static IResult NotFound() => CheckProblems.Problem(
        StatusCodes.Status404NotFound, NotFoundType, "No such consent.", "There is no consent with this id that this client may see.");

    private static IResult NotPermitted(string rule) => CheckProblems.Problem(
        StatusCodes.Status403Forbidden, CheckProblems.ForbiddenType, "The trust framework does not permit this consent.",
        $"Denied by rule '{rule}'.", new Dictionary<string, object?> { ["rule"] = rule });

    private static IResult AuditUnavailable() => CheckProblems.Problem(
        StatusCodes.Status503ServiceUnavailable, CheckProblems.AuditUnavailableType, "The consent change could not be recorded.",
        "The audit trail cannot record consent changes at the moment, so nothing was changed. Retry later.");
}
