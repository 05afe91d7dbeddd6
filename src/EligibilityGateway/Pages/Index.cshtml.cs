using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace EligibilityGateway.Pages;

/// <summary><c>/</c>: the start page, saying what the service is to each kind of person, and who is signed in.</summary>
internal sealed class IndexModel(TrustFrameworkMonitor monitor) : PageModel
{
    public Person? Person { get; private set; }

    /// <summary>For a signed-in auditor: the councils whose records they may see, by name.</summary>
    public string? AuditScopeDescription { get; private set; }

    public void OnGet()
    {
        Person = HttpContext.GetSignedInPerson();
        if (Person is AuditorPerson auditor)
        {
            AuditScopeDescription = auditor.Scope.CouncilId is not { } councilId
                ? "every council"
                : monitor.TryGetCurrent(out var framework) && framework.TryGetCouncil(councilId, out var council) ? council.Name : councilId;
        }
    }
}
