using EligibilityGateway.Audit;
using EligibilityGateway.Authorization;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/connect/endsession</c>, OpenID Connect RP-Initiated Logout 1.0 §2. A GET whose <c>id_token_hint</c> is an ID
/// token this gateway issued to a council for the citizen signed in now ends the session at once and redirects. Any
/// other GET — no hint, a forged or foreign one, another council's, another person's — signs nobody out: §2 says the OP
/// "MUST ask the End-User" then, so the page asks <i>Do you want to sign out?</i> with a POST form carrying an
/// antiforgery token, and only that POST signs out. A link or image on another site can no longer end a citizen's
/// session. After signing out the browser goes to <c>post_logout_redirect_uri</c> (with <c>state</c>) only when a
/// valid hint names the council and the URI is exactly one that council registered (§3); otherwise to the start page.
/// </summary>
internal sealed class EndSessionModel(
    IdTokenHintValidator hints,
    SubjectReferences subjectReferences,
    TrustFrameworkMonitor monitor,
    ILogger<EndSessionModel> logger) : PageModel
{
    /// <summary>The request parameters the confirmation form carries back (RP-Initiated Logout 1.0 §2).</summary>
    public static readonly string[] Parameters = [IdTokenHintParameter, ClientIdParameter, PostLogoutRedirectUriParameter, StateParameter];

    private const string IdTokenHintParameter = "id_token_hint";
    private const string ClientIdParameter = "client_id";
    private const string PostLogoutRedirectUriParameter = "post_logout_redirect_uri";
    private const string StateParameter = "state";

    /// <summary>Who is asked to confirm.</summary>
    public string DisplayName { get; private set; } = "";

    /// <summary>The request's parameters, sent again with the confirmation.</summary>
    public IReadOnlyList<(string Name, string Value)> Carried { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync()
    {
        var request = Read(Request.Query);
        var validation = await hints.ValidateAsync(request.GetValueOrDefault(IdTokenHintParameter), request.GetValueOrDefault(ClientIdParameter));
        if (HttpContext.GetSignedInPerson() is not { } person)
        {
            // Nobody to sign out, so nothing to forge: go where a valid hint allows.
            return Redirect(Target(request, validation.Hint));
        }

        if (validation.Hint is { } hint && person is Citizen citizen
            && string.Equals(hint.Subject, Authorization.Server.ConsentAuthorizations.PairwiseSubject(hint.ClientId, subjectReferences.Compute(citizen.Identity)), StringComparison.Ordinal))
        {
            await PageAuthentication.SignOutAsync(HttpContext, person);
            Log.SignedOutByCouncil(logger, hint.ClientId);
            return Redirect(Target(request, hint));
        }

        Log.EndSessionConfirmationAsked(logger, validation.Failure ?? "the id_token_hint is not the signed-in person's");
        DisplayName = person.DisplayName;
        Carried = [.. Parameters.Where(request.ContainsKey).Select(name => (name, request[name]))];
        return Page();
    }

    /// <summary>The confirmation (its antiforgery token checked before this runs): sign out, then continue as a GET would.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        if (HttpContext.GetSignedInPerson() is { } person)
        {
            await PageAuthentication.SignOutAsync(HttpContext, person);
            Log.SignedOut(logger, person.Role);
        }

        // RFC 9110 §15.4.4: the browser GETs the end-session endpoint again, now signed out, and is sent on from there
        // — a redirect to a council from the form's own response would break the page's form-action 'self'.
        var request = Read(Request.Form);
        Response.Headers.Location = QueryHelpers.AddQueryString(AuthorizationServerPaths.EndSession, request.Select(p => KeyValuePair.Create(p.Key, (string?)p.Value)));
        return StatusCode(StatusCodes.Status303SeeOther);
    }

    /// <summary>The known parameters sent exactly once with a value; a repeated one counts as absent.</summary>
    private static Dictionary<string, string> Read(IEnumerable<KeyValuePair<string, StringValues>> parameters) =>
        parameters.Where(p => Parameters.Contains(p.Key, StringComparer.Ordinal) && p.Value.Count == 1 && !string.IsNullOrEmpty(p.Value[0]))
            .ToDictionary(p => p.Key, p => p.Value[0]!, StringComparer.Ordinal);

    /// <summary>
    /// RP-Initiated Logout 1.0 §3: <c>post_logout_redirect_uri</c> only when a valid hint names the council and the
    /// URI is character for character one of that council's registered redirect URIs; otherwise the start page.
    /// </summary>
    private string Target(Dictionary<string, string> request, IdTokenHint? hint)
    {
        if (hint is null || !request.TryGetValue(PostLogoutRedirectUriParameter, out var requested)
            || !monitor.Current.TryGetCouncilByClientId(hint.ClientId, out var council)
            || council.RedirectUris.FirstOrDefault(u => string.Equals(u.OriginalString, requested, StringComparison.Ordinal)) is not { } registered)
        {
            return "/";
        }

        return request.TryGetValue(StateParameter, out var state) ? QueryHelpers.AddQueryString(registered.OriginalString, StateParameter, state) : registered.OriginalString;
    }
}
