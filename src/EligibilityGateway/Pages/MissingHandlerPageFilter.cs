using Microsoft.AspNetCore.Mvc.Filters;

namespace EligibilityGateway.Pages;

/// <summary>
/// A request that names no handler its page has answers with a GOV.UK error page instead of the page itself.
/// </summary>
/// <remarks>
/// Razor Pages picks a handler by the request's method and its <c>handler</c> parameter; when none fits (a POST to
/// <c>/audit</c> without <c>?handler=verify</c> or <c>subject</c>, a POST to a page that takes none) it still renders
/// the page, with a model no handler has prepared, which fails in the view (a 500). Registered for every page, this
/// filter stops such a request before the page renders: <b>400</b> <see cref="ProblemPage.UnknownFormAction"/> when
/// the page has handlers for the method but none by that name (the form is not one of this page's; also when a
/// form's unknown name would fall back to the page's unnamed handler), <b>405</b>
/// <see cref="ProblemPage.MethodNotAllowed"/> with <c>Allow</c> (RFC 9110 §15.5.6) when the page takes nothing with
/// that method. It runs after antiforgery validation, so a form without a valid token is still the
/// <see cref="ProblemPage.FormExpired"/> page.
/// </remarks>
internal sealed class MissingHandlerPageFilter : IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var request = context.HttpContext.Request;
        if (context.HandlerMethod is { } handler)
        {
            // Razor Pages falls back to a page's unnamed handler when the name matches none; a link may, but a form
            // naming an action the page does not have is not one of this page's forms.
            if (handler.Name is not null || HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || string.IsNullOrEmpty(HandlerName(context)))
            {
                await next();
                return;
            }
        }

        var methods = context.ActionDescriptor.HandlerMethods.Select(h => h.HttpMethod.ToUpperInvariant()).ToHashSet(StringComparer.Ordinal);
        var logger = context.HttpContext.RequestServices.GetRequiredService<ILogger<MissingHandlerPageFilter>>();
        if (context.HandlerMethod is not null || methods.Contains(request.Method.ToUpperInvariant()))
        {
            Log.PageHandlerNotFound(logger, request.Method, context.ActionDescriptor.ViewEnginePath);
            context.Result = ProblemPages.Result(ProblemPage.UnknownFormAction);
            return;
        }

        if (methods.Contains(HttpMethods.Get))
        {
            methods.Add(HttpMethods.Head);
        }

        Log.PageMethodNotAllowed(logger, request.Method, context.ActionDescriptor.ViewEnginePath);
        context.HttpContext.Response.Headers.Allow = string.Join(", ", methods.Order(StringComparer.Ordinal));
        context.Result = ProblemPages.Result(ProblemPage.MethodNotAllowed);
    }

    /// <summary>The handler name as Razor Pages reads it: the route's <c>handler</c> value, else the query's.</summary>
    private static string? HandlerName(PageHandlerExecutingContext context) =>
        context.RouteData.Values.TryGetValue("handler", out var route) && Convert.ToString(route, System.Globalization.CultureInfo.InvariantCulture) is { Length: > 0 } name
            ? name
            : context.HttpContext.Request.Query["handler"].FirstOrDefault();
}
