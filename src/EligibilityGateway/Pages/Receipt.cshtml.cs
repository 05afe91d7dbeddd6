using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Net.Http.Headers;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>GET /account/consents/{consentId}/receipt</c> (README.md): the signed receipt of one of the citizen's own
/// consents, as a download. Another citizen's consent, or none, is 404.
/// </summary>
[Authorize(Policy = PagePolicies.Citizen)]
internal sealed class ReceiptModel(ILogger<ReceiptModel> logger) : PageModel
{
    public async Task<IActionResult> OnGetAsync(string consentId, CancellationToken cancellationToken)
    {
        var citizen = (Citizen)HttpContext.GetSignedInPerson()!;
        var reader = ActivatorUtilities.GetServiceOrCreateInstance<AccountConsents>(HttpContext.RequestServices);
        if (await reader.FindOwnAsync(citizen, consentId, cancellationToken) is not { } consent)
        {
            return ProblemPages.Result(AccountModel.NotYours);
        }

        var jws = ActivatorUtilities.GetServiceOrCreateInstance<ReceiptIssuer>(HttpContext.RequestServices).Issue(consent);
        Log.ReceiptIssued(logger, consent.ConsentId);
        var disposition = new ContentDispositionHeaderValue("attachment");
        disposition.SetHttpFileName($"consent-receipt-{consent.ConsentId}.jws");
        Response.Headers.ContentDisposition = disposition.ToString();
        return Content(jws, ReceiptIssuer.MediaType);
    }
}
