using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/sign-in/callback</c>: the identity provider's redirect back (OpenID Connect Core §3.1.2.5). Only the browser
/// that started the sign-in holds its cookie; the response, the code exchange and the ID token are checked by
/// <see cref="IdentityProviderClient"/>, and only then is a session issued — holding the non-personal subject alone.
/// Every failure is a GOV.UK error page.
/// </summary>
internal sealed class SignInCallbackModel(IdentityProviderClient provider, FederatedCitizens citizens, ILogger<SignInCallbackModel> logger) : PageModel
{
    public async Task<IActionResult> OnGetAsync()
    {
        if (!provider.Enabled)
        {
            return ProblemPages.Result(FederatedSignInPages.NotOffered);
        }

        if (FederatedSignInCookie.Take(HttpContext) is not { } request)
        {
            Log.FederatedSignInRefused(logger, FederatedSignInFailure.Expired, "no sign-in was started in this browser");
            return ProblemPages.Result(FederatedSignInPages.For(FederatedSignInFailure.Expired, provider.DisplayName));
        }

        var outcome = await provider.CompleteAsync(request, Request.Query, HttpContext.RequestAborted);
        if (outcome is not FederatedSignInOutcome.SignedIn signedIn)
        {
            return ProblemPages.Result(FederatedSignInPages.For(((FederatedSignInOutcome.Refused)outcome).Failure, provider.DisplayName));
        }

        var citizen = citizens.Remember(signedIn);
        await HttpContext.SignInAsync(PageAuthentication.SchemeName, PageAuthentication.SessionPrincipal(citizen), new AuthenticationProperties { IsPersistent = false });
        Log.SignedIn(logger, citizen.Role);
        return LocalRedirect(SignInModel.SafeReturnUrl(Url, request.ReturnUrl) ?? SignInModel.LandingPath(citizen));
    }
}
