using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/sign-in/external</c>: sends the citizen to the identity provider with a fresh state, nonce and PKCE challenge,
/// remembered in a protected cookie for the callback. A GET reached by a link, not a form: browsers apply the pages'
/// <c>form-action 'self'</c> to a form's redirect, which would stop the way to the provider.
/// </summary>
internal sealed class SignInExternalModel(IdentityProviderClient provider) : PageModel
{
    public async Task<IActionResult> OnGetAsync([FromQuery(Name = "returnUrl")] string? returnUrl)
    {
        if (!provider.Enabled)
        {
            return ProblemPages.Result(FederatedSignInPages.NotOffered);
        }

        if (await provider.StartAsync(SignInModel.SafeReturnUrl(Url, returnUrl), HttpContext.RequestAborted) is not var (location, request))
        {
            return ProblemPages.Result(FederatedSignInPages.For(FederatedSignInFailure.Unavailable, provider.DisplayName));
        }

        FederatedSignInCookie.Write(HttpContext, request);
        return Redirect(location.AbsoluteUri);
    }
}
