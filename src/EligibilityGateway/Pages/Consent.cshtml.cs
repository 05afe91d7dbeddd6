using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.Authorization;
using EligibilityGateway.Consents;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/connect/authorize</c> (RFC 6749 §4.1.1 with RFC 9126 §4): the authorization endpoint is the consent page.
/// GET takes only <c>client_id</c> and <c>request_uri</c> (everything else was pushed); a request that cannot be
/// used is an error page, never a redirect, because its redirect URI cannot be trusted then. The request is checked
/// <b>before</b> anyone is asked to sign in (RFC 6749 §4.1.2.1: an invalid client or request is told to the resource
/// owner, not redirected), so nobody signs in only to be refused; the check only reads the pushed request, which stays
/// there for the GET that follows the sign-in. Then a signed-out person is sent to sign in and anyone but a citizen
/// gets the 403 page (the <c>citizen</c> policy, applied here rather than by an attribute, which would run first).
/// POST is the citizen's Allow or Deny: the pushed request is taken (single use), the consent authorised or
/// rejected, and the browser sent with a 303 to <c>/connect/authorize/continue</c>, which redirects to the council
/// (see the README on <c>form-action</c>).
/// </summary>
internal sealed class ConsentPageModel(
    IAuthorizationService authorization,
    IPendingAuthorizationStore requests,
    IAuthorizationCodeStore codes,
    ConsentService consents,
    TrustFrameworkMonitor monitor,
    GatewayIssuer issuer,
    TimeProvider timeProvider) : PageModel
{
    public const string AllowDecision = "allow";
    public const string DenyDecision = "deny";

    /// <summary>A decision waits this long for the browser to follow the 303.</summary>
    private static readonly TimeSpan DecisionLifetime = TimeSpan.FromMinutes(2);

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

    public async Task<IActionResult> OnGetAsync()
    {
        // RFC 9126 §4: only client_id and request_uri; any other parameter was meant for PAR.
        if (Request.Query.Count != 2 || Request.Query.Any(p => p.Key is not (PushedAuthorizationEndpoint.Parameters.ClientId or PushedAuthorizationEndpoint.Parameters.RequestUri) || p.Value.Count != 1))
        {
            return ProblemPages.Result(UnusableRequest);
        }

        // Read, not taken: a valid request_uri must still be there after the sign-in this may lead to.
        var now = timeProvider.GetUtcNow();
        if (await FindRequestAsync(now) is not { } pending || await consents.FindAsync(pending.ConsentId, HttpContext.RequestAborted) is not { } consent
            || consent.StatusAt(now) != ConsentStatus.AwaitingAuthorisation)
        {
            return ProblemPages.Result(UnusableRequest);
        }

        if (await RequireCitizenAsync() is { } signInOrForbid)
        {
            return signInOrForbid;
        }

        Describe(consent);
        return Page();
    }

    public async Task<IActionResult> OnPostAsync([FromForm(Name = "decision")] string? decision)
    {
        if (await RequireCitizenAsync() is { } signInOrForbid)
        {
            return signInOrForbid;
        }

        var now = timeProvider.GetUtcNow();
        if (decision is not (AllowDecision or DenyDecision) || await FindRequestAsync(now) is null)
        {
            return ProblemPages.Result(UnusableRequest);
        }

        // RFC 9126 §4: the request_uri is used once; a second press or a second tab finds it gone.
        if (await requests.TryTakeAsync(RequestUri()!, now, HttpContext.RequestAborted) is not { } pending)
        {
            return ProblemPages.Result(UnusableRequest);
        }

        var citizen = (Citizen)HttpContext.GetSignedInPerson()!;
        var cancellationToken = HttpContext.RequestAborted;
        var parameters = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (decision == AllowDecision
            && await consents.AuthoriseAsync(pending.ConsentId, citizen.Identity, citizen.Subject, cancellationToken) is ConsentChange.Made { Consent: var authorised }
            && await codes.IssueAsync(expires => new AuthorizationCodeGrant(pending.ClientId, pending.RedirectUri, pending.CodeChallenge, pending.Scopes, pending.ConsentId, PairwiseSubject(pending.ClientId, authorised), expires, pending.Nonce), cancellationToken) is { } code)
        {
            parameters["code"] = code;
        }
        else
        {
            if (decision == DenyDecision)
            {
                await consents.RejectAsync(pending.ConsentId, cancellationToken);
            }

            // RFC 6749 §4.1.2.1: the citizen said no, or the consent could not be authorised.
            parameters["error"] = "access_denied";
        }

        parameters["state"] = pending.State;
        // RFC 9207 §2: iss tells the council which server answered, against mix-up attacks.
        parameters["iss"] = issuer.Value;
        var location = QueryHelpers.AddQueryString(pending.RedirectUri.OriginalString, parameters.Where(p => p.Value is not null));
        await requests.AddDecisionAsync(pending.RequestUri, new AuthorizationDecision(new Uri(location), citizen.Subject, now + DecisionLifetime), cancellationToken);

        // RFC 9110 §15.4.4: 303 makes the browser GET the next address, which is ours, so form-action 'self' holds.
        Response.Headers.Location = QueryHelpers.AddQueryString(ConsentContinueModel.Path, PushedAuthorizationEndpoint.Parameters.RequestUri, pending.RequestUri);
        return StatusCode(StatusCodes.Status303SeeOther);
    }

    /// <summary>
    /// The <c>sub</c> of consent-bound tokens: a pairwise identifier (OIDC Core §8.1), the SHA-256 of the council's
    /// client id and the consent's subject reference — itself a keyed HMAC of the identity — so never an NI number,
    /// the same for one citizen at one council, and unlinkable between councils.
    /// </summary>
    internal static string PairwiseSubject(string clientId, Consent consent) => PairwiseSubject(clientId, consent.SubjectReference);

    /// <summary>The pairwise identifier of the citizen whose subject reference is <paramref name="subjectReference"/>, for the council <paramref name="clientId"/>.</summary>
    internal static string PairwiseSubject(string clientId, string? subjectReference) =>
        Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(clientId + "\n" + subjectReference)));

    /// <summary>The <c>citizen</c> policy: null when it holds; else a sign-in redirect (nobody signed in) or the 403 page.</summary>
    private async Task<IActionResult?> RequireCitizenAsync() =>
        (await authorization.AuthorizeAsync(User, PagePolicies.Citizen)).Succeeded ? null
        : HttpContext.GetSignedInPerson() is null ? Challenge(PageAuthentication.SchemeName)
        : Forbid(PageAuthentication.SchemeName);

    private string? RequestUri() => Request.Query[PushedAuthorizationEndpoint.Parameters.RequestUri].Count == 1 ? Request.Query[PushedAuthorizationEndpoint.Parameters.RequestUri][0] : null;

    /// <summary>
    /// The pushed request named by the query, if it is live, was pushed by the client the query names, and that client
    /// is still a council of the framework in force. Only reads the store.
    /// </summary>
    private async Task<PendingAuthorization?> FindRequestAsync(DateTimeOffset now) =>
        RequestUri() is { } requestUri && await requests.FindAsync(requestUri, now, HttpContext.RequestAborted) is { } pending
        && string.Equals(Request.Query[PushedAuthorizationEndpoint.Parameters.ClientId].ToString(), pending.ClientId, StringComparison.Ordinal)
        && monitor.Current.TryGetCouncilByClientId(pending.ClientId, out _)
            ? pending
            : null;

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
