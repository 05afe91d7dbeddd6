using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.Infrastructure;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.Mvc.ViewFeatures;
using Microsoft.AspNetCore.Mvc.Core.Infrastructure;

namespace EligibilityGateway.Pages;

/// <summary>What a GOV.UK-styled error page says: a heading (also the title) and plain-English paragraphs.</summary>
internal sealed record ProblemPage(int StatusCode, string Heading, IReadOnlyList<string> Paragraphs)
{
    /// <summary>A form was posted without a valid antiforgery token (README.md): stale, missing or forged.</summary>
    public static ProblemPage FormExpired { get; } = new(
        StatusCodes.Status400BadRequest,
        "Sorry, there is a problem with the form you sent",
        ["The form could not be accepted. This happens when a page has been open for a long time, or when the form did not come from this service.",
         "Go back, reload the page and try again."]);

    /// <summary>The browser sent a request the service could not read (a broken or cut-short form).</summary>
    public static ProblemPage Unreadable(int statusCode) => new(
        statusCode,
        "Sorry, there is a problem with the form you sent",
        ["The form could not be read. It may have been cut short, or sent by something other than this service's pages.",
         "Go back, reload the page and try again."]);

    /// <summary>
    /// A form was posted to a page that has no action by the name it gave (none, or one the page does not have): it
    /// did not come from this page as the service serves it.
    /// </summary>
    public static ProblemPage UnknownFormAction { get; } = new(
        StatusCodes.Status400BadRequest,
        "Sorry, there is a problem with the form you sent",
        ["The form did not say what to do, or asked for something this page does not do. It may have been changed, or sent by something other than this service's pages.",
         "Go back, reload the page and try again."]);

    /// <summary>A request with a method the page does not take at all (a form posted to a page that has none).</summary>
    public static ProblemPage MethodNotAllowed { get; } = new(
        StatusCodes.Status405MethodNotAllowed,
        "Sorry, this page cannot do that",
        ["This page can be looked at, but what your browser sent it is not something it does.",
         "Go back and try again from a link or button on this service's pages."]);

    /// <summary>A fault of the service's own; what went wrong is in its logs, never on the page.</summary>
    public static ProblemPage ServiceFault { get; } = new(
        StatusCodes.Status500InternalServerError,
        "Sorry, there is a problem with the service",
        ["Try again later. Nothing you entered has been saved."]);

    /// <summary>Signed in, but as someone these pages are not for.</summary>
    public static ProblemPage Forbidden { get; } = new(
        StatusCodes.Status403Forbidden,
        "You cannot see this page",
        ["You are signed in as someone who does not have access to this page.",
         "Sign out, then sign in with an account that has access."]);
}

/// <summary>Renders <see cref="ProblemPage"/>s with the shared layout, from a filter or from outside MVC.</summary>
internal static class ProblemPages
{
    private const string ViewPath = "/Pages/Shared/Problem.cshtml";

    public static ViewResult Result(ProblemPage page) => new()
    {
        ViewName = ViewPath,
        StatusCode = page.StatusCode,
        ViewData = new ViewDataDictionary<ProblemPage>(new EmptyModelMetadataProvider(), new ModelStateDictionary()) { Model = page },
    };

    /// <summary>Writes the page as the whole response, e.g. from an authentication event.</summary>
    public static Task WriteAsync(HttpContext context, ProblemPage page)
    {
        var executor = context.RequestServices.GetRequiredService<IActionResultExecutor<ViewResult>>();
        return executor.ExecuteAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()), Result(page));
    }
}

/// <summary>
/// Turns Razor Pages' bare 400 for a failed antiforgery check into the GOV.UK error page, keeping the 400.
/// </summary>
internal sealed class AntiforgeryFailurePageFilter : IAlwaysRunResultFilter
{
    public void OnResultExecuting(ResultExecutingContext context)
    {
        if (context.Result is IAntiforgeryValidationFailedResult)
        {
            context.Result = ProblemPages.Result(ProblemPage.FormExpired);
        }
    }

    public void OnResultExecuted(ResultExecutedContext context)
    {
    }
}
