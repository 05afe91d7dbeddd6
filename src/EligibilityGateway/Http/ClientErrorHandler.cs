using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace EligibilityGateway.Http;

/// <summary>
/// The last word on an API request that threw: a request the host could not read (<see cref="BadHttpRequestException"/>,
/// which <see cref="RequestBodyGuard"/> makes of every body-reading failure) is the client's fault and gets its 4xx,
/// as an OAuth error under <c>/connect/</c> (RFC 6749 §5.2) and as a problem document elsewhere (RFC 9457). Anything
/// else is left to the default handler (a 500 problem document without detail). Pages have their own handler,
/// registered before this one, that renders GOV.UK error pages.
/// </summary>
internal sealed class ClientErrorHandler(IProblemDetailsService problems, ILogger<ClientErrorHandler> logger) : IExceptionHandler
{
    /// <summary>The problem types used here; the same strings as the check API's (OpenApi/ProblemTypes.cs lists them).</summary>
    public const string MalformedBodyType = "urn:eligibility-gateway:problem:malformed-json";
    public const string BodyTooLargeType = "urn:eligibility-gateway:problem:body-too-large";
    public const string UnsupportedMediaTypeType = "urn:eligibility-gateway:problem:unsupported-media-type";

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }

        var oauth = httpContext.Request.Path.StartsWithSegments("/connect");
        var status = bad.StatusCode is >= 400 and < 500 ? bad.StatusCode : StatusCodes.Status400BadRequest;
        if (oauth && status == StatusCodes.Status415UnsupportedMediaType)
        {
            status = StatusCodes.Status400BadRequest; // RFC 6749 §5.2: a request OAuth cannot read is a 400 invalid_request
        }

        Log.UnreadableRequest(logger, status);
        httpContext.Response.StatusCode = status;
        if (httpContext.RequestAborted.IsCancellationRequested)
        {
            // Nobody is left to read an answer.
            return true;
        }

        if (oauth)
        {
            await httpContext.Response.WriteAsJsonAsync(
                new OAuthErrorBody("invalid_request", "The request could not be read: its body is malformed, too large or cut short."),
                HttpJsonContext.Default.OAuthErrorBody,
                contentType: null,
                cancellationToken);
            return true;
        }

        var problem = status switch
        {
            StatusCodes.Status413PayloadTooLarge => new ProblemDetails { Status = status, Type = BodyTooLargeType, Title = "The request body is too large." },
            StatusCodes.Status415UnsupportedMediaType => new ProblemDetails { Status = status, Type = UnsupportedMediaTypeType, Title = "The request body's media type or charset is not supported.", Detail = bad.Message },
            _ => new ProblemDetails
            {
                Status = status,
                Type = status == StatusCodes.Status400BadRequest ? MalformedBodyType : null,
                Title = "The request body could not be read.",
                Detail = "Its framing or encoding is broken, or the connection closed before it ended.",
                Extensions = { ["errors"] = new Dictionary<string, string[]> { ["body"] = ["The body could not be read."] } },
            },
        };
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }
}

/// <summary>An RFC 6749 §5.2 error body.</summary>
internal sealed record OAuthErrorBody(
    [property: System.Text.Json.Serialization.JsonPropertyName("error")] string Error,
    [property: System.Text.Json.Serialization.JsonPropertyName("error_description")] string ErrorDescription);

[System.Text.Json.Serialization.JsonSerializable(typeof(OAuthErrorBody))]
internal sealed partial class HttpJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

internal static partial class Log
{
    [LoggerMessage(EventId = 2900, Level = LogLevel.Information, Message = "A request could not be read and was answered {StatusCode}")]
    public static partial void UnreadableRequest(ILogger logger, int statusCode);
}
