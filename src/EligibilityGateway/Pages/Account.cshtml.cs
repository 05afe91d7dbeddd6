using System.Globalization;
using EligibilityGateway.Checks;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace EligibilityGateway.Pages;

/// <summary><c>/account</c>: the signed-in citizen and the verified details a consent they give is bound to (SPEC §5.4).</summary>
[Authorize(Policy = PagePolicies.Citizen)]
internal sealed class AccountModel : PageModel
{
    public Citizen Citizen { get; private set; } = null!;

    public void OnGet() =>
        // The citizen policy has passed, so the session's person is a citizen.
        Citizen = (Citizen)HttpContext.GetSignedInPerson()!;

    /// <summary>An NI number in the pairs it is printed in (<c>QQ 12 34 56 C</c>); a NASS number as it is.</summary>
    public static string Display(Subject identity) => identity.IdentifierKind == IdentifierKind.NationalInsuranceNumber && identity.Identifier.Length == 9
        ? string.Join(' ', identity.Identifier[..2], identity.Identifier[2..4], identity.Identifier[4..6], identity.Identifier[6..8], identity.Identifier[8..])
        : identity.Identifier;

    /// <summary>A date as GOV.UK writes it: 1 January 1990 (the invariant culture has the English month names).</summary>
    public static string Display(DateOnly date) => date.ToString("d MMMM yyyy", CultureInfo.InvariantCulture);
}
