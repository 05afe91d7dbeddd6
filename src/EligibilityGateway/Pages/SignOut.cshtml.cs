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
            await PageAuthentication.SignOutAsync(HttpContext, person);
            Log.SignedOut(logger, person.Role);
        }

        return LocalRedirect("/sign-out");
    }
}
