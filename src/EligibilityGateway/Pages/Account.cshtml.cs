using System.Globalization;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Consents;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/account</c> (README.md): the signed-in citizen's verified details, the consents bound to them with a
/// <b>Revoke</b> button and a signed receipt each, and every check made about them, consent or not, newest first.
/// </summary>
[Authorize(Policy = PagePolicies.Citizen)]
internal sealed class AccountModel(ConsentService consentService, ILogger<AccountModel> logger) : PageModel
{
    public Citizen Citizen { get; private set; } = null!;

    public AccountConsents Reader { get; private set; } = null!;

    public IReadOnlyList<Consent> Consents { get; private set; } = [];

    public IReadOnlyList<AuditRecord> Activity { get; private set; } = [];

    /// <summary>The consent just revoked, for the success banner; null otherwise.</summary>
    public Consent? JustRevoked { get; private set; }

    /// <summary>The cursor of this page of activity (null: the newest).</summary>
    public long? Before { get; private set; }

    /// <summary>The cursor of the next, older page, when there may be one.</summary>
    public long? OlderBefore { get; private set; }

    public DateTimeOffset Now { get; private set; }

    public async Task<IActionResult> OnGetAsync([FromQuery] string? revoked, [FromQuery] long? before, CancellationToken cancellationToken)
    {
        Load();
        Before = before is > 0 ? before : null;
        Consents = await Reader.ListAsync(Citizen, cancellationToken);
        Activity = await Reader.ActivityAsync(Citizen, Before, cancellationToken);
        OlderBefore = Activity.Count == AccountConsents.ActivityPageSize ? Activity[^1].Sequence : null;
        if (revoked is not null)
        {
            JustRevoked = Consents.FirstOrDefault(c => c.ConsentId == revoked && c.Status == ConsentStatus.Revoked);
        }

        return Page();
    }

    /// <summary>
    /// Revokes one of the citizen's own consents (Consents/README.md), then shows the account with a success banner
    /// (post/redirect/get). Another citizen's consent, or none, is 404: it does not exist for this citizen.
    /// </summary>
    public async Task<IActionResult> OnPostRevokeAsync([FromForm] string? consentId, CancellationToken cancellationToken)
    {
        Load();
        if (consentId is null || await Reader.FindOwnAsync(Citizen, consentId, cancellationToken) is not { } own)
        {
            return ProblemPages.Result(NotYours);
        }

        switch (await consentService.RevokeAsync(own.ConsentId, ConsentRevoker.Citizen, cancellationToken))
        {
            case ConsentChange.Made or ConsentChange.Unchanged:
                Log.CitizenRevoked(logger, own.ConsentId);
                return Redirect("/account?revoked=" + Uri.EscapeDataString(own.ConsentId));
            case ConsentChange.AuditUnavailable:
                return ProblemPages.Result(CannotRecord);
            case ConsentChange.Refused refused:
                return ProblemPages.Result(new ProblemPage(
                    StatusCodes.Status409Conflict,
                    "This consent cannot be withdrawn",
                    [$"It is {AccountText.Tag(refused.Status).Text.ToLowerInvariant()}, so no council can use it any more.", "Go back to your account."]));
            default:
                return ProblemPages.Result(NotYours);
        }
    }

    /// <summary>An NI number in the pairs it is printed in (<c>QQ 12 34 56 C</c>); a NASS number as it is.</summary>
    public static string Display(Subject identity) => identity.IdentifierKind == IdentifierKind.NationalInsuranceNumber && identity.Identifier.Length == 9
        ? string.Join(' ', identity.Identifier[..2], identity.Identifier[2..4], identity.Identifier[4..6], identity.Identifier[6..8], identity.Identifier[8..])
        : identity.Identifier;

    /// <summary>A date as GOV.UK writes it: 1 January 1990 (the invariant culture has the English month names).</summary>
    public static string Display(DateOnly date) => date.ToString("d MMMM yyyy", CultureInfo.InvariantCulture);

    internal static ProblemPage NotYours { get; } = new(
        StatusCodes.Status404NotFound,
        "Consent not found",
        ["There is no consent with this reference in your account.", "Go back to your account to see the consents you have given."]);

    private static ProblemPage CannotRecord { get; } = new(
        StatusCodes.Status503ServiceUnavailable,
        "Sorry, your consent could not be withdrawn right now",
        ["Nothing has changed: the service could not record the change, so it did not make it.", "Try again in a few minutes."]);

    private void Load()
    {
        // The citizen policy has passed, so the session's person is a citizen.
        Citizen = (Citizen)HttpContext.GetSignedInPerson()!;
        Reader = ActivatorUtilities.GetServiceOrCreateInstance<AccountConsents>(HttpContext.RequestServices);
        Now = HttpContext.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow();
    }
}
