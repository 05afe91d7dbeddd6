using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using EligibilityGateway.Consents;

namespace EligibilityGateway.OpenApi;

/// <summary>
/// Every stable problem <c>type</c> the gateway answers with: its status and what it means to the caller. The
/// document's <c>ProblemDetails</c> component lists them all, and each problem response of an operation lists the
/// ones of its status (an endpoint declares the status with <c>ProducesProblem</c>). A test proves that every
/// problem-type constant in the code is here; a declared status with no type here stops the document.
/// </summary>
internal static class ProblemTypes
{
    /// <summary>
    /// What ASP.NET Core answers when an endpoint declares the JSON it accepts (<c>Accepts&lt;T&gt;("application/json")</c>)
    /// and a request names another content type: the endpoint is not selected, and the status-code page writes this type.
    /// </summary>
    public const string RoutingUnsupportedMediaType = "https://tools.ietf.org/html/rfc9110#section-15.5.16";

    private const string Checks = "/v1/checks";
    private const string Consents = "/v1/consents";
    private const string BulkChecks = "/v1/bulk-checks";

    /// <summary>In the order the document lists them.</summary>
    public static IReadOnlyList<ProblemType> All { get; } =
    [
        new(CheckProblems.ValidationType, StatusCodes.Status400BadRequest,
            "A field of the request breaks a rule; `errors` names each field and what is wrong with it."),
        new(CheckProblems.MalformedJsonType, StatusCodes.Status400BadRequest,
            "The body is not well-formed JSON, or has an unknown, repeated or wrongly typed member; `errors` names it (`body` when the whole body is at fault)."),
        new(GatewayBearer.InvalidTokenProblemType, StatusCodes.Status401Unauthorized,
            "No access token, or one the gateway does not accept (issuer, audience, algorithm, signature, expiry, or a client no longer in the trust framework); `WWW-Authenticate` says which.",
            FromBearerHandler: true),
        new(GatewayBearer.InsufficientScopeProblemType, StatusCodes.Status403Forbidden,
            "The access token is valid but lacks the scope the operation needs; `WWW-Authenticate` names it.",
            FromBearerHandler: true),
        new(CheckProblems.ForbiddenType, StatusCodes.Status403Forbidden,
            "The trust framework does not permit this; `rule` names the rule that decided, as the audit record does."),
        new(EligibilityGateway.Audit.AuditorEndpoints.OutsideScopeType, StatusCodes.Status403Forbidden,
            "The auditor asked for more than its scope: another council's events, or (for a council's auditor) verification or checkpoints of the whole log.", "/v1/audit"),
        new(CheckProblems.NotFoundType, StatusCodes.Status404NotFound,
            "No check with this id that the calling council made.", Checks),
        new(EligibilityGateway.BulkChecks.BulkCheckProblems.NotFoundType, StatusCodes.Status404NotFound,
            "No bulk check with this id that the calling council submitted (or its results were purged after their retention).", BulkChecks),
        new(ConsentEndpoints.NotFoundType, StatusCodes.Status404NotFound,
            "No consent with this id that the calling council created.", Consents),
        new(CheckProblems.ConsentNotUsableType, StatusCodes.Status409Conflict,
            "The token's consent is not authorised, or is expired or revoked; `consentStatus` says which.", Checks),
        new(ConsentEndpoints.NotRevocableType, StatusCodes.Status409Conflict,
            "The consent is in a state that cannot be revoked (already revoked, rejected or expired).", Consents),
        new(CheckProblems.BodyTooLargeType, StatusCodes.Status413PayloadTooLarge,
            "The body is over 16 KiB (16384 bytes)."),
        new(EligibilityGateway.BulkChecks.BulkCheckProblems.TooLargeType, StatusCodes.Status413PayloadTooLarge,
            "The bulk check has more than 10,000 rows or a body over 5 MiB.", BulkChecks),
        new(CheckProblems.UnsupportedMediaTypeType, StatusCodes.Status415UnsupportedMediaType,
            "The request has no `Content-Type`; the body must be JSON (`application/json`)."),
        new(RoutingUnsupportedMediaType, StatusCodes.Status415UnsupportedMediaType,
            "The `Content-Type` is not JSON. Routing refuses it before the check code runs, so this is ASP.NET Core's own problem type."),
        new(CheckProblems.RateLimitedType, StatusCodes.Status429TooManyRequests,
            "The council's rate limit for the scheme is used up; `Retry-After` says when to try again.", Checks),
        new(CheckProblems.AuditUnavailableType, StatusCodes.Status503ServiceUnavailable,
            "The audit trail cannot record the check or consent change, so nothing is released or changed; retry later."),
    ];

    public static string Meaning(string type) => All.Single(p => p.Type == type).Meaning;
}

/// <param name="Type">The stable <c>type</c> URN.</param>
/// <param name="Status">The HTTP status it comes with.</param>
/// <param name="Meaning">What it tells the caller, in one or two sentences.</param>
/// <param name="PathPrefix">Only operations under this path answer with it; null for any.</param>
/// <param name="FromBearerHandler">Answered by the Bearer scheme, so only by operations that require a token.</param>
internal sealed record ProblemType(string Type, int Status, string Meaning, string? PathPrefix = null, bool FromBearerHandler = false);
