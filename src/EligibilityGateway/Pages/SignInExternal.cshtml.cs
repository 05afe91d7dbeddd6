using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/sign-in/external</c>: challenges the identity provider's scheme, which sends the citizen to the provider (through
/// a pushed request when it offers PAR) with a fresh state, nonce and PKCE challenge. A GET reached by a link, not a
/// form: browsers apply the pages' <c>form-action 'self'</c> to a form's redirect, which would stop the way to the provider.
/// </summary>
internal sealed class SignInExternalModel(IOptions<IdentityProviderOptions> identityProvider, ILogger<SignInExternalModel> logger) : PageModel
{
    public async Task<IActionResult> OnGetAsync([FromQuery(Name = "returnUrl")] string? returnUrl)
    {
        var settings = identityProvider.Value;
        if (!settings.Enabled)
        {
            return ProblemPages.Result(FederatedSignInPages.NotOffered);
        }

        // Where to go once signed in; FederatedSignInEvents.TokenValidated sends a citizen to /account without one.
        var properties = new AuthenticationProperties { RedirectUri = SignInModel.SafeReturnUrl(Url, returnUrl) ?? "/account" };
        try
        {
            await HttpContext.ChallengeAsync(FederatedSignIn.SchemeName, properties);
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or IOException
                                   or TaskCanceledException && !HttpContext.RequestAborted.IsCancellationRequested)
        {
            // Discovery (or the pushed authorization request) failed before the citizen was sent anywhere.
            Log.IdentityProviderUnreachable(logger, "discovery or pushed authorization endpoint", ex.GetType().Name);
            return ProblemPages.Result(FederatedSignInPages.For(FederatedSignInFailure.Unavailable, settings.DisplayName));
        }

        return new EmptyResult();
    }
}
