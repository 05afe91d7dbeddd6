using Microsoft.AspNetCore.Mvc;

namespace EligibilityGateway.Checks;

/// <summary>
/// The check API's RFC 9457 problem documents. Each <c>type</c> is stable: councils branch on it, so these
/// strings are a contract (listed in <c>contracts/gateway.openapi.json</c>) — add, never rename.
/// </summary>
internal static class CheckProblems
{
    public const string TypePrefix = "urn:eligibility-gateway:problem:";
    public const string ValidationType = TypePrefix + "validation";
    public const string MalformedJsonType = TypePrefix + "malformed-json";
    public const string UnsupportedMediaTypeType = TypePrefix + "unsupported-media-type";
    public const string BodyTooLargeType = TypePrefix + "body-too-large";
    public const string ForbiddenType = TypePrefix + "not-permitted";
    public const string NotFoundType = TypePrefix + "check-not-found";
    public const string RateLimitedType = TypePrefix + "rate-limited";
    public const string AuditUnavailableType = TypePrefix + "audit-unavailable";
    public const string ConsentNotUsableType = TypePrefix + "consent-not-usable";

    public static IResult Validation(ValidationErrors errors) => TypedResults.ValidationProblem(
        errors.ToDictionary(),
        title: "The request is not valid.",
        detail: "See errors for each field that failed.",
        type: ValidationType);

    public static IResult MalformedJson(string field, string message, string what = "check") => TypedResults.ValidationProblem(
        new Dictionary<string, string[]> { [field] = [message] },
        title: $"The request body is not valid JSON for a {what}.",
        type: MalformedJsonType);

    public static IResult UnsupportedMediaType() => Problem(
        StatusCodes.Status415UnsupportedMediaType, UnsupportedMediaTypeType, "The request body must be application/json.");

    public static IResult BodyTooLarge(long limit) => Problem(
        StatusCodes.Status413PayloadTooLarge, BodyTooLargeType, "The request body is too large.", $"A check request must be at most {limit} bytes.");

    /// <summary>403, naming the trust-framework rule that decided (TrustFramework/README.md).</summary>
    public static IResult NotPermitted(string rule) => Problem(
        StatusCodes.Status403Forbidden, ForbiddenType, "The trust framework does not permit this check.",
        $"Denied by rule '{rule}'.", new Dictionary<string, object?> { ["rule"] = rule });

    public static IResult NotFound() => Problem(
        StatusCodes.Status404NotFound, NotFoundType, "No such check.", "There is no check with this id that this client may see.");

    public static IResult RateLimited(TimeSpan retryAfter) => Problem(
        StatusCodes.Status429TooManyRequests, RateLimitedType, "Too many checks.",
        $"This council's limit for the scheme is used up; retry after {Math.Ceiling(retryAfter.TotalSeconds)} s.");

    /// <summary>
    /// 409: the token's consent is not authorised, or is expired or revoked (README.md). <c>consentStatus</c> names
    /// its state (<c>revoked</c>, <c>expired</c>, …) so the council knows whether to ask the citizen again.
    /// </summary>
    public static IResult ConsentNotUsable(string consentId, string status, string reason) => Problem(
        StatusCodes.Status409Conflict, ConsentNotUsableType, "The consent cannot be used for a check.", reason,
        new Dictionary<string, object?> { ["consentId"] = consentId, ["consentStatus"] = status });

    /// <summary>503: nothing is released without an audit record (Audit/README.md, "Durability rule").</summary>
    public static IResult AuditUnavailable() => Problem(
        StatusCodes.Status503ServiceUnavailable, AuditUnavailableType, "The check could not be recorded.",
        "The audit trail cannot record checks at the moment, so no answer is released. Retry later.");

    /// <summary>An RFC 9457 problem of one of the gateway's own types (OpenApi/ProblemTypes.cs), for every API endpoint.</summary>
    internal static IResult Problem(int status, string type, string title, string? detail = null, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(new ProblemDetails
        {
            Status = status,
            Type = type,
            Title = title,
            Detail = detail,
            Extensions = extensions ?? new Dictionary<string, object?>(),
        });
}
