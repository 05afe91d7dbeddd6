using EligibilityGateway.Authorization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/connect/authorize/continue</c>: the GET the consent form's 303 leads to. It sends the browser, once, to the
/// council's registered redirect URI with the decision (RFC 6749 §4.1.2). Only the citizen who decided may follow
/// it; the address it redirects to was fixed at PAR from the council's registered URIs, so this is no open redirect.
/// </summary>
[Authorize(Policy = PagePolicies.Citizen)]
internal sealed class ConsentContinueModel(IAuthorizationDecisionStore decisions, TimeProvider timeProvider) : PageModel
{
    public const string Path = AuthorizationServerPaths.AuthorizeContinue;

    public async Task<IActionResult> OnGetAsync([FromQuery(Name = "request_uri")] string? requestUri)
    {
        var citizen = HttpContext.GetSignedInPerson()!;
        if (requestUri is null || await decisions.TakeDecisionAsync(requestUri, timeProvider.GetUtcNow(), HttpContext.RequestAborted) is not { } decision
            || !string.Equals(decision.CitizenSubject, citizen.Subject, StringComparison.Ordinal))
        {
            return ProblemPages.Result(new ProblemPage(
                StatusCodes.Status400BadRequest,
                "There is nothing to continue",
                ["Your answer has already been sent to the council, or the page was open too long.", "Go back to the council's website and start again."]));
        }

        // A plain 302: the redirect follows a GET, so the page's form-action 'self' does not apply to it.
        return Redirect(decision.Location.AbsoluteUri);
    }
}
