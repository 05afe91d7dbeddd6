using Microsoft.Net.Http.Headers;

namespace EligibilityGateway.Http;

/// <summary>
/// Headers every response carries, API and page alike, set when the response starts so that errors, problem
/// documents and the host's own refusals carry them too:
/// <list type="bullet">
/// <item><c>X-Content-Type-Options: nosniff</c>, so that no browser reads a JSON answer or a CSV export as a script or a page;</item>
/// <item><c>Cache-Control: no-store</c> unless the endpoint chose its own caching (discovery, keys, static assets):
/// check answers, consents, audit data and tokens must never sit in a shared or browser cache (RFC 9111 §5.2.2.5;
/// RFC 6749 §5.1 requires it of token responses).</item>
/// </list>
/// The <c>Server</c> header is switched off in Kestrel (<see cref="GatewayApplication"/>): it tells an attacker
/// which server to aim at and tells a legitimate caller nothing.
/// </summary>
internal static class ApiResponseHeaders
{
    public static IApplicationBuilder UseApiResponseHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        context.Response.OnStarting(static state =>
        {
            var headers = ((HttpContext)state).Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            if (headers.CacheControl.Count == 0)
            {
                headers.CacheControl = "no-store";
            }

            return Task.CompletedTask;
        }, context);
        return next(context);
    });
}
