using System.Globalization;
using EligibilityGateway.Authorization;
using EligibilityGateway.Authorization.Server;
using EligibilityGateway.Consents;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.Authentication;
using OpenIddict.Abstractions;
using Microsoft.AspNetCore;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/connect/authorize</c> (RFC 6749 §4.1.1 with RFC 9126 §4): the authorization endpoint is the consent page.
/// GET takes only <c>client_id</c> and <c>request_uri</c> (everything else was pushed); a request that cannot be
/// used is an error page, never a redirect, because its redirect URI cannot be trusted then. The request is checked
/// <b>before</b> anyone is asked to sign in (RFC 6749 §4.1.2.1: an invalid client or request is told to the resource
/// owner, not redirected), so nobody signs in only to be refused; the check only reads the pushed request, which stays
/// there for the GET that follows the sign-in. Then a signed-out person is sent to sign in and anyone but a citizen
/// gets the 403 page (the <c>citizen</c> policy, applied here rather than by an attribute, which would run first).
/// OpenIddict answers <c>/connect/authorize</c> first (passthrough): it has validated the client and the pushed
/// request, or hands this page its error, before the page runs. POST is the citizen's Allow or Deny: the consent is
/// authorised or rejected and OpenIddict answers the council, through a 303 to <c>/connect/authorize/continue</c>,
/// which redirects to the council (see the README on <c>form-action</c>).
/// </summary>
internal sealed class ConsentPageModel(
    IAuthorizationService authorization,
    ConsentAuthorizations consentAuthorizations,
    ConsentService consents,
    TrustFrameworkMonitor monitor,
    TimeProvider timeProvider) : PageModel
{
    public const string AllowDecision = "allow";
    public const string DenyDecision = "deny";

    private static readonly ProblemPage UnusableRequest = new(
        StatusCodes.Status400BadRequest,
        "This request to check your details cannot be used",
        ["The link you followed has expired, has already been used, or was not made for this service.",
         "Go back to the council's website and start again."]);

    public string CouncilName { get; private set; } = "";

    public string SchemeName { get; private set; } = "";

    public IReadOnlyList<string> ProviderNames { get; private set; } = [];

    public IReadOnlyList<string> Released { get; private set; } = [];

    public string ExpiresOn { get; private set; } = "";

    /// <summary>Posted back with the decision: the authorization endpoint reads a POST's parameters from its form.</summary>
    public string ClientId { get; private set; } = "";

    public string RequestUri { get; private set; } = "";

    public async Task<IActionResult> OnGetAsync()
    {
        // OpenIddict has checked the client and the pushed request already; only what it let through reaches here.
        if (await FindRequestAsync() is not { } found)
        {
            return ProblemPages.Result(UnusableRequest);
        }

        if (await RequireCitizenAsync() is { } signInOrForbid)
        {
            return signInOrForbid;
        }

        Describe(found.Consent);
        ClientId = found.Request.ClientId!;
        RequestUri = found.Request.RequestUri!;
        return Page();
    }

    public async Task<IActionResult> OnPostAsync([FromForm(Name = "decision")] string? decision)
    {
        if (await RequireCitizenAsync() is { } signInOrForbid)
        {
            return signInOrForbid;
        }

        if (decision is not (AllowDecision or DenyDecision) || await FindRequestAsync() is not { } found)
        {
            return ProblemPages.Result(UnusableRequest);
        }

        var citizen = (Citizen)HttpContext.GetSignedInPerson()!;
        var cancellationToken = HttpContext.RequestAborted;
        // Only this citizen may follow the continuation to the council (ConsentContinue).
        HttpContext.Items[FlowHandlers.ContinueAfterDecision.DeciderItem] = citizen.Subject;
        if (decision == AllowDecision
            && await consents.AuthoriseAsync(found.Consent.ConsentId, citizen.Identity, citizen.Subject, cancellationToken) is ConsentChange.Made { Consent: var authorised })
        {
            // The sign-in issues the code and redeems the request_uri (RFC 9126 §4: single use); the response is the
            // 303 to /connect/authorize/continue (FlowHandlers.ContinueAfterDecision).
            var principal = await consentAuthorizations.AuthoriseAsync(found.Request.ClientId!, authorised, found.Request.GetScopes(), cancellationToken);
            return SignIn(principal, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }

        if (decision == DenyDecision)
        {
            await consents.RejectAsync(found.Consent.ConsentId, cancellationToken);
        }

        // RFC 6749 §4.1.2.1: the citizen said no, or the consent could not be authorised. The consent no longer awaits
        // authorisation, so the same request_uri cannot be decided again.
        return Forbid(
            new AuthenticationProperties(new Dictionary<string, string?>
            {
                [OpenIddictServerAspNetCoreConstants.Properties.Error] = Errors.AccessDenied,
                [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = "The citizen did not authorise the check.",
            }),
            OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>The <c>citizen</c> policy: null when it holds; else a sign-in redirect (nobody signed in) or the 403 page.</summary>
    private async Task<IActionResult?> RequireCitizenAsync() =>
        (await authorization.AuthorizeAsync(User, PagePolicies.Citizen)).Succeeded ? null
        : HttpContext.GetSignedInPerson() is null ? Challenge(PageAuthentication.SchemeName)
        : Forbid(PageAuthentication.SchemeName);

    /// <summary>
    /// The request OpenIddict restored from the pushed request, if it accepted it, whose client is still a council of
    /// the framework in force and whose consent still awaits authorisation. Only reads.
    /// </summary>
    private async Task<(OpenIddictRequest Request, Consent Consent)?> FindRequestAsync()
    {
        if (HttpContext.GetOpenIddictServerResponse() is { Error: not null } || HttpContext.GetOpenIddictServerRequest() is not { ClientId: { } clientId, RequestUri: not null } request
            || !monitor.Current.TryGetCouncilByClientId(clientId, out _)
            || FlowHandlers.ValidatePushedRequest.ReadAuthorizationDetails((string?)request[ConsentAuthorizationDetails.Claim]).ConsentId is not { } consentId
            || await consents.FindAsync(consentId, HttpContext.RequestAborted) is not { } consent
            || consent.StatusAt(timeProvider.GetUtcNow()) != ConsentStatus.AwaitingAuthorisation)
        {
            return null;
        }

        return (request, consent);
    }

    private void Describe(Consent consent)
    {
        var framework = monitor.Current;
        CouncilName = framework.TryGetCouncil(consent.CouncilId, out var council) ? council.Name : consent.CouncilId;
        SchemeName = framework.TryGetScheme(consent.SchemeId, out var scheme) ? scheme.Name : consent.SchemeId;
        ProviderNames = [.. consent.Providers.Select(id => framework.TryGetProvider(id, out var provider) ? provider.Name : id)];
        Released = [.. consent.Released.Select(field => field switch
        {
            "outcome" => $"whether you qualify for {SchemeName.ToLowerInvariant()}, or whether they could not find or confirm your details",
            "confirmed-by" => "which government department confirmed that you qualify",
            _ => field,
        })];
        ExpiresOn = consent.ExpiresAt.UtcDateTime.ToString("d MMMM yyyy 'at' h:mmtt", CultureInfo.InvariantCulture).Replace("AM", "am", StringComparison.Ordinal).Replace("PM", "pm", StringComparison.Ordinal) + " (UTC)";
    }
}
