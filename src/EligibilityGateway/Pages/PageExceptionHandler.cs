using Microsoft.AspNetCore.Diagnostics;

namespace EligibilityGateway.Pages;

/// <summary>
/// A page that throws answers with a GOV.UK error page, never a problem document meant for machines: 400 when the
/// browser sent something the host could not read (a broken body, which <c>Http/RequestBodyGuard</c> turns into a
/// <see cref="BadHttpRequestException"/>), 500 for a fault of ours. Registered before the API's handler, it takes
/// only requests that were routed to a page.
/// </summary>
internal sealed class PageExceptionHandler(ILogger<PageExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var endpoint = httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint;
        if (endpoint?.Metadata.GetMetadata<PageEndpointMetadata>() is null || httpContext.RequestAborted.IsCancellationRequested)
        {
            return false;
        }

        var page = exception is BadHttpRequestException { StatusCode: >= 400 and < 500 } bad
            ? ProblemPage.Unreadable(bad.StatusCode)
            : ProblemPage.ServiceFault;
        if (page.StatusCode >= 500)
        {
            Log.PageFailed(logger, exception.GetType().Name, exception);
        }

        PageSecurityHeaders.EnsureApplied(httpContext);
        httpContext.Response.StatusCode = page.StatusCode;
        await ProblemPages.WriteAsync(httpContext, page);
        return true;
    }
}
