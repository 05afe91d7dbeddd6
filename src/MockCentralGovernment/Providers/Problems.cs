using EligibilityGateway.ProviderContracts;

namespace MockCentralGovernment.Providers;

/// <summary>
/// Every error the mock answers, as RFC 9457 problem documents with a stable <c>type</c> (listed in
/// contracts/providers/README.md). The URNs are identifiers, not links.
/// </summary>
internal static class Problems
{
    public const string TypePrefix = ProviderProblemTypes.Prefix;

    public static IResult Validation(IDictionary<string, string[]> errors) => TypedResults.ValidationProblem(
        errors,
        detail: "See errors for each field that is wrong.",
        title: "The request is not valid.",
        type: TypePrefix + "validation");

    /// <summary>
    /// The one answer for "no such person": the same whether the identifier is unknown or the surname or date of birth
    /// is wrong, so a caller cannot learn that an identifier exists.
    /// </summary>
    /// <summary>A provider call without the caller headers (<see cref="CallerHeaders"/>); <c>errors</c> names each header.</summary>
    public static IResult CallerHeaders(IDictionary<string, string[]> errors) => TypedResults.ValidationProblem(
        errors,
        detail: "Every call must say who asks and why: X-Correlation-Id, X-Requesting-Organisation, X-Scheme and X-Purpose.",
        title: "Caller headers missing or not valid.",
        type: ProviderProblemTypes.CallerHeaders);

    public static IResult NoMatch() => Problem(
        StatusCodes.Status404NotFound,
        "no-match",
        "No match.",
        "No record matches this identifier, surname and date of birth.");

    public static IResult UnknownCitizen() => Problem(
        StatusCodes.Status404NotFound,
        "unknown-citizen",
        "Unknown citizen.",
        "No citizen has this id. Citizen ids come from POST /v1/citizens/match.");

    public static IResult UnknownProvider() => Problem(
        StatusCodes.Status404NotFound,
        "unknown-provider",
        "Unknown provider.",
        "Providers are dwp, hmrc and home-office.");

    public static IResult UnsupportedMediaType() => Problem(
        StatusCodes.Status415UnsupportedMediaType,
        "unsupported-media-type",
        "Unsupported media type.",
        "The body must be JSON (Content-Type: application/json).");

    public static IResult PayloadTooLarge(int limit) => Problem(
        StatusCodes.Status413PayloadTooLarge,
        "payload-too-large",
        "Payload too large.",
        $"The body must be at most {limit} bytes.");

    public static IResult Unauthorized(HttpContext context, string realm, bool credentialPresented)
    {
        // RFC 6750 §3: a request without credentials gets the bare challenge; one with a bad credential gets invalid_token.
        context.Response.Headers.WWWAuthenticate = credentialPresented
            ? $"Bearer realm=\"{realm}\", error=\"invalid_token\""
            : $"Bearer realm=\"{realm}\"";
        return Problem(
            StatusCodes.Status401Unauthorized,
            "unauthorized",
            "Unauthorized.",
            credentialPresented ? "The bearer credential is not this provider's." : "A bearer credential is required (Authorization: Bearer …).");
    }

    public static IResult InjectedServerError() => Problem(
        StatusCodes.Status500InternalServerError,
        "injected-error",
        "Internal server error.",
        "Fault injected by the control API (errorRate).");

    public static IResult InjectedUnavailable(HttpContext context, int retryAfterSeconds)
    {
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Problem(
            StatusCodes.Status503ServiceUnavailable,
            "injected-unavailable",
            "Service unavailable.",
            "Fault injected by the control API (errorRate); retry after the Retry-After delay.");
    }

    public static IResult Outage() => Problem(
        StatusCodes.Status503ServiceUnavailable,
        "outage",
        "Service unavailable.",
        "The provider is in a full outage (control API: outage).");

    public static IResult Timeout() => Problem(
        StatusCodes.Status504GatewayTimeout,
        "timeout",
        "Gateway timeout.",
        "The request was held for timeoutHoldMilliseconds and not answered (control API: timeoutRate).");

    private static IResult Problem(int status, string type, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypePrefix + type);
}
