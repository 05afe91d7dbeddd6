using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/sign-in/callback</c> when no identity provider is configured: a 404 page. With a provider, the OpenID Connect
/// handler answers this path in the authentication middleware (<see cref="FederatedSignInEvents"/>) and no request
/// reaches the page; it is kept so that the path is a page endpoint, with the pages' headers, either way.
/// </summary>
internal sealed class SignInCallbackModel : PageModel
{
    public IActionResult OnGet() => ProblemPages.Result(FederatedSignInPages.NotOffered);
}
