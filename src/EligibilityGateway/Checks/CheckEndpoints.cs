using System.Collections.Immutable;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using EligibilityGateway.Audit;
using EligibilityGateway.Authorization;
using EligibilityGateway.Telemetry;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace EligibilityGateway.Checks;

/// <summary>The answer to a check (README.md): the outcome and what the scheme releases, never personal data.</summary>
internal sealed record CheckResponse(
    string CheckId,
    string Scheme,
    string Outcome,
    DateTime CheckedAt,
    DateTime ValidUntil,
    string ServedFrom,
    string LawfulBasis,
    string? ConsentId,
    long AuditSequence,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ImmutableArray<string>? ConfirmedBy);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(CheckResponse))]
internal sealed partial class CheckResponseJsonContext : JsonSerializerContext;

/// <summary><c>POST /v1/checks</c> and <c>GET /v1/checks/{checkId}</c> (README.md).</summary>
internal static class CheckEndpoints
{
    /// <summary>A check body is at most 16 KiB (README.md, "Validation").</summary>
    public const long MaxBodyBytes = 16 * 1024;

    public static IEndpointRouteBuilder MapCheckEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var checks = endpoints.MapGroup("/v1/checks")
            .RequireAuthorization(GatewayScopes.EligibilityCheck)
            .WithTags("Checks");

        checks.MapPost("", PostAsync)
            .WithName("CreateCheck")
            .WithSummary("Check whether a person is eligible for a scheme")
            .Accepts<CheckRequestBody>("application/json")
            .Produces<CheckResponse>()
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        checks.MapGet("/{checkId}", GetAsync)
            .WithName("GetCheck")
            .WithSummary("Read back a check this council made")
            .Produces<CheckResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return endpoints;
    }

    private static async Task<IResult> PostAsync(HttpContext context, TrustFrameworkMonitor frameworks, CheckService checks, TimeProvider timeProvider)
    {
        var framework = frameworks.Current;
        if (!context.TryGetCallerCouncil(framework, out var council))
        {
            return CheckProblems.NotPermitted(PolicyRules.UnknownCouncil);
        }

        var body = await ReadBodyAsync(context, CheckRequestValidator.JsonOptions.GetTypeInfo(typeof(CheckRequestBody)), "check");
        if (body.Problem is not null)
        {
            return body.Problem;
        }

        var caller = new CheckCaller(council, context.GetCallerClientId()!, CheckService.CurrentTraceId());
        var request = (CheckRequestBody)body.Value!;
        CheckResult result;
        if (context.GetConsentId() is { } consentId)
        {
            // A consent-bound token (Consents/README.md): the subject and the lawful basis come from the consent.
            var underConsent = CheckRequestValidator.ValidateUnderConsent(request, scheme => framework.TryGetScheme(scheme, out _));
            if (underConsent.Request is null)
            {
                return CheckProblems.Validation(underConsent.Errors);
            }

            result = await checks.RunUnderConsentAsync(caller, consentId, underConsent.Request, context.RequestAborted);
        }
        else
        {
            var today = DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime);
            var validation = CheckRequestValidator.Validate(request, scheme => framework.TryGetScheme(scheme, out _), today);
            if (validation.Request is null)
            {
                return CheckProblems.Validation(validation.Errors);
            }

            result = await checks.RunAsync(caller, validation.Request, context.RequestAborted);
        }

        return result switch
        {
            CheckResult.Answered answered => Ok(answered.Response),
            CheckResult.Denied denied => CheckProblems.NotPermitted(denied.Rule),
            CheckResult.ConsentNotUsable refused => CheckProblems.ConsentNotUsable(refused.ConsentId, refused.Status, refused.Reason),
            CheckResult.RateLimited limited => RateLimited(context, limited.RetryAfter),
            CheckResult.AuditUnavailable => CheckProblems.AuditUnavailable(),
            _ => throw new InvalidOperationException($"Unhandled check result {result.GetType().Name}."),
        };
    }

    private static async Task<IResult> GetAsync(string checkId, HttpContext context, TrustFrameworkMonitor frameworks, IAuditLog audit)
    {
        if (!context.TryGetCallerCouncil(frameworks.Current, out var council))
        {
            return CheckProblems.NotPermitted(PolicyRules.UnknownCouncil);
        }

        // Ids are ours and well-formed; anything else cannot name a check, and says no more than "not found".
        if (!Guid.TryParseExact(checkId, "D", out _))
        {
            return CheckProblems.NotFound();
        }

        var stored = await audit.FindCheckAsync(checkId, council.Id, context.RequestAborted);
        return stored is null
            ? CheckProblems.NotFound()
            : Ok(new CheckResponse(
                stored.CheckId,
                stored.SchemeId,
                stored.Outcome.ToName(),
                stored.CheckedAt.UtcDateTime,
                stored.ValidUntil.UtcDateTime,
                stored.ServedFrom,
                stored.LawfulBasis,
                stored.ConsentId,
                stored.AuditSequence,
                stored.ConfirmedBy));
    }

    private static JsonHttpResult<CheckResponse> Ok(CheckResponse response) =>
        TypedResults.Json(response, CheckResponseJsonContext.Default.CheckResponse);

    private static IResult RateLimited(HttpContext context, TimeSpan retryAfter)
    {
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return CheckProblems.RateLimited(retryAfter);
    }

    /// <summary>
    /// Reads a request body under the check API's limits: JSON only (415), at most 16 KiB (413), well-formed and strict
    /// (400). Shared by every JSON-body endpoint of the council API; <paramref name="what"/> names the request in messages.
    /// </summary>
    internal static async Task<(object? Value, IResult? Problem)> ReadBodyAsync(HttpContext context, JsonTypeInfo typeInfo, string what)
    {
        var request = context.Request;
        if (!request.HasJsonContentType())
        {
            return (null, CheckProblems.UnsupportedMediaType());
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            return (null, CheckProblems.BodyTooLarge(MaxBodyBytes));
        }

        // Also bounds chunked bodies, which announce no length: Kestrel stops reading past the limit.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxBodyBytes;
        }

        try
        {
            var body = await JsonSerializer.DeserializeAsync(request.Body, typeInfo, context.RequestAborted);
            return body is not null && body.GetType() == typeInfo.Type
                ? (body, null)
                : (null, CheckProblems.MalformedJson("body", "The body must be a JSON object.", what));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, CheckProblems.BodyTooLarge(MaxBodyBytes));
        }
        catch (JsonException ex)
        {
            return (null, CheckProblems.MalformedJson(CheckRequestValidator.FieldOf(ex), Describe(ex, what), what));
        }
    }

    // The serializer's messages name .NET types; the council needs to know what was wrong with its JSON.
    private static string Describe(JsonException exception, string what) => exception.Message switch
    {
        var m when m.Contains("could not be mapped", StringComparison.Ordinal) => $"This member is not part of a {what} request.",
        var m when m.Contains("Duplicate", StringComparison.Ordinal) => "This member appears more than once.",
        var m when m.Contains("could not be converted", StringComparison.Ordinal) => "This member has the wrong JSON type.",
        _ => "The body is not well-formed JSON.",
    };
}

/// <summary>Registration of the check path.</summary>
public static class CheckServiceCollectionExtensions
{
    public static IServiceCollection AddChecks(this IServiceCollection services)
    {
        // Counted in Redis when Cache:Redis is set (shared by every replica), in process otherwise.
        services.AddSingleton(provider =>
        {
            var cacheOptions = provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<EligibilityGateway.Caching.CacheOptions>>().Value;
            return new CheckRateLimiter(
                EligibilityGateway.Caching.RedisConnection.IsConfigured(cacheOptions) ? provider.GetRequiredService<StackExchange.Redis.IConnectionMultiplexer>() : null,
                cacheOptions,
                provider.GetRequiredService<TimeProvider>(),
                provider.GetRequiredService<ILogger<CheckRateLimiter>>());
        });
        services.TryAddSingleton<GatewayMetrics>();
        services.AddSingleton<CheckService>();
        return services;
    }
}
