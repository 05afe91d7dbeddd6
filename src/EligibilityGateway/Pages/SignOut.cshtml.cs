using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/sign-out</c>: a page with a Sign out button. Signing out is a POST with an antiforgery token, so another site
/// cannot sign a person out by linking here.
/// </summary>
internal sealed class SignOutModel(ILogger<SignOutModel> logger) : PageModel
{
    public Person? Person { get; private set; }

    public void OnGet() => Person = HttpContext.GetSignedInPerson();

    public async Task<IActionResult> OnPostAsync()
    {
        if (HttpContext.GetSignedInPerson() is { } person)
        {
            await HttpContext.SignOutAsync(PageAuthentication.SchemeName);

            // A federated citizen's identity is kept no longer than their session.
            HttpContext.RequestServices.GetService<FederatedCitizens>()?.Forget(person.Subject);
            Log.SignedOut(logger, person.Role);
        }

        return LocalRedirect("/sign-out");
    }
}
