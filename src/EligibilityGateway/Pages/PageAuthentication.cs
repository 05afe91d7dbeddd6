using System.Security.Claims;
using EligibilityGateway.Authorization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;

namespace EligibilityGateway.Pages;

/// <summary>
/// The pages' own authentication: a cookie scheme, separate from the API's <c>Bearer</c> scheme. Page policies name
/// only this scheme and the API's policies only <c>Bearer</c>, so a bearer token never signs anyone in to a page and
/// a session cookie never authorises an API call.
/// </summary>
internal static class PageAuthentication
{
    /// <summary>The cookie authentication scheme of the pages.</summary>
    public const string SchemeName = "PageSession";

    /// <summary>The session cookie, <c>__Host-</c>-prefixed when the gateway is served over HTTPS.</summary>
    public const string SessionCookieName = "egw-session";

    /// <summary>The antiforgery cookie, prefixed like the session cookie.</summary>
    public const string AntiforgeryCookieName = "egw-csrf";

    /// <summary>The hidden form field that carries the antiforgery request token.</summary>
    public const string AntiforgeryFieldName = "__RequestVerificationToken";

    /// <summary>A session lasts this long without a request, then the person signs in again.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(20);

    /// <summary>
    /// The principal a session cookie carries: the subject and role only. Everything else (display name, audit
    /// scope, a citizen's identity) is read from the <see cref="IPeopleDirectory"/> on each request, so the cookie
    /// holds no personal data even inside its encrypted ticket.
    /// </summary>
    public static ClaimsPrincipal SessionPrincipal(Person person) =>
        new(new ClaimsIdentity(
            [new Claim(PageClaims.Subject, person.Subject), new Claim(PageClaims.Role, person.Role)],
            SchemeName,
            PageClaims.Subject,
            PageClaims.Role));

    /// <summary>The principal pages see: the session's claims plus what the directory says about the person now.</summary>
    public static ClaimsPrincipal RequestPrincipal(Person person)
    {
        var identity = new ClaimsIdentity(SchemeName, PageClaims.Name, PageClaims.Role);
        identity.AddClaim(new Claim(PageClaims.Subject, person.Subject));
        identity.AddClaim(new Claim(PageClaims.Role, person.Role));
        identity.AddClaim(new Claim(PageClaims.Name, person.DisplayName));
        if (person is AuditorPerson auditor)
        {
            identity.AddClaim(new Claim(PageClaims.AuditScope, auditor.Scope.CouncilId ?? EligibilityGateway.TrustFramework.AuditScope.AllCouncils));
        }

        return new ClaimsPrincipal(identity);
    }

    /// <summary>
    /// Ends <paramref name="person"/>'s page session, and forgets a federated citizen's identity with it: it is kept no
    /// longer than their session.
    /// </summary>
    public static async Task SignOutAsync(HttpContext context, Person person)
    {
        await context.SignOutAsync(SchemeName);
        context.RequestServices.GetService<FederatedCitizens>()?.Forget(person.Subject);
    }

    /// <summary>
    /// Re-reads the person on every request: a session whose person has gone from the directory, or whose role
    /// changed, ends at once, as a removed council's bearer tokens do.
    /// </summary>
    public static Task ValidatePrincipalAsync(CookieValidatePrincipalContext context)
    {
        var directory = context.HttpContext.RequestServices.GetRequiredService<IPeopleDirectory>();
        var subject = context.Principal?.FindFirst(PageClaims.Subject)?.Value;
        var role = context.Principal?.FindFirst(PageClaims.Role)?.Value;
        if (subject is null || directory.Find(subject) is not { } person || person.Role != role)
        {
            context.RejectPrincipal();
            return context.HttpContext.SignOutAsync(SchemeName);
        }

        context.HttpContext.Features.Set(new SignedInPersonFeature(person));
        context.ReplacePrincipal(RequestPrincipal(person));
        return Task.CompletedTask;
    }
}

/// <summary>Claim types of a page session (names as in OpenID Connect where one exists).</summary>
internal static class PageClaims
{
    public const string Subject = "sub";
    public const string Role = "role";
    public const string Name = "name";

    /// <summary>An auditor's scope: <c>all</c>, or the id of the one council whose records they may see.</summary>
    public const string AuditScope = "audit_scope";
}

/// <summary>Authorization policies of the pages, named as the roles they require.</summary>
internal static class PagePolicies
{
    /// <summary>A signed-in citizen (consent pages, the account).</summary>
    public const string Citizen = "citizen";

    /// <summary>A signed-in auditor (the audit pages); the council scope is the <see cref="PageClaims.AuditScope"/> claim.</summary>
    public const string Auditor = "auditor";
}

/// <summary>The person signed in on this request, set once the session has been validated.</summary>
internal sealed record SignedInPersonFeature(Person Person);

/// <summary>Who is signed in to the pages on this request.</summary>
internal static class SignedInPersonExtensions
{
    /// <summary>
    /// The person signed in with a page session, or null. Never the caller of a bearer token: that identity
    /// belongs to the API.
    /// </summary>
    public static Person? GetSignedInPerson(this HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, AuthenticationType: PageAuthentication.SchemeName }
            ? context.Features.Get<SignedInPersonFeature>()?.Person
            : null;
}

/// <summary>
/// Whether the pages' cookies are <c>Secure</c> and <c>__Host-</c>-prefixed: when the gateway's public address
/// (its issuer) is https. Decided from the issuer rather than from each request, so that a gateway behind a
/// TLS-terminating proxy, which sees plain http, still marks its cookies secure.
/// </summary>
internal sealed class PageCookieSecurity(GatewayIssuer issuer)
{
    private bool? secure;

    public bool Secure => secure ?? IsHttps();

    /// <summary><paramref name="name"/> as the browser stores it.</summary>
    public string Name(string name) => Secure ? "__Host-" + name : name;

    private bool IsHttps()
    {
        try
        {
            var https = issuer.Value.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            secure = https;
            return https;
        }
        catch (InvalidOperationException)
        {
            // No issuer configured and no address bound yet: not decided, and nothing is served over HTTPS so far.
            return false;
        }
    }
}
