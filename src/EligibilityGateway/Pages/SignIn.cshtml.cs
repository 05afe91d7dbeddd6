using EligibilityGateway.Authorization;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Pages;

/// <summary>
/// <c>/sign-in</c>: username and password against the <see cref="IPeopleDirectory"/>. A wrong password and an
/// unknown username give the same page; a throttled username or address is refused (429, <c>Retry-After</c>) before
/// the password is checked (<see cref="SignInThrottle"/>).
/// </summary>
internal sealed class SignInModel(IPeopleDirectory directory, SignInThrottle throttle, IOptions<IdentityProviderOptions> identityProvider, TrustFrameworkMonitor monitor, ILogger<SignInModel> logger) : PageModel
{
    /// <summary>Longest username or password read; longer input is refused without hashing it.</summary>
    public const int MaximumLength = 256;

    public const string UsernameField = "username";
    public const string PasswordField = "password";

    /// <summary>The message for every failed attempt, so it tells nothing about which part was wrong.</summary>
    public const string NoMatchMessage = "Enter a correct username and password";

    /// <summary>The start of the message for a throttled attempt; <see cref="Throttled"/> adds how long to wait.</summary>
    public const string ThrottledMessage = "You have tried to sign in too many times.";

    [BindProperty(Name = UsernameField)]
    public string? Username { get; set; }

    [BindProperty(Name = PasswordField)]
    public string? Password { get; set; }

    /// <summary>Where to go after signing in: a local path only (open-redirect protection).</summary>
    [BindProperty(Name = "returnUrl", SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public PageErrors Errors { get; } = new();

    /// <summary>The identity provider's name when federated sign-in is configured, else null.</summary>
    public string? IdentityProviderName => identityProvider.Value.Enabled ? identityProvider.Value.DisplayName : null;

    /// <summary>
    /// Whether the username and password form is shown: always without an identity provider, and beside one only while
    /// the framework in force declares local accounts (only a sandbox framework may).
    /// </summary>
    public bool OffersPassword => !identityProvider.Value.Enabled
        || (monitor.TryGetCurrent(out var framework) && !framework.Definition.SandboxUsers.IsDefaultOrEmpty);

    /// <summary>Where the identity provider button leads, carrying the return path.</summary>
    public string ExternalSignInPath => ReturnUrl is null ? "/sign-in/external" : "/sign-in/external?returnUrl=" + Uri.EscapeDataString(ReturnUrl);

    public void OnGet() => ReturnUrl = SafeReturnUrl(ReturnUrl);

    public async Task<IActionResult> OnPostAsync()
    {
        ReturnUrl = SafeReturnUrl(ReturnUrl);
        var username = (Username ?? "").Trim().ToLowerInvariant();
        var password = Password ?? "";
        if (username.Length == 0)
        {
            Errors.Add(UsernameField, "Enter your username");
        }

        if (password.Length == 0)
        {
            Errors.Add(PasswordField, "Enter your password");
        }

        if (Errors.Any)
        {
            return Page();
        }

        var address = HttpContext.Connection.RemoteIpAddress;
        var cancellationToken = HttpContext.RequestAborted;
        if (await throttle.CheckAsync(username, address, cancellationToken) is { Allowed: false } throttled)
        {
            return Throttled(throttled);
        }

        var person = username.Length <= MaximumLength && password.Length <= MaximumLength
            ? directory.VerifyPassword(username, password)
            : null;
        if (person is null)
        {
            await throttle.RecordFailureAsync(username, address, cancellationToken);
            Log.SignInRefused(logger);
            Errors.Add(UsernameField, NoMatchMessage);
            return Page();
        }

        // A right password that raced other guesses past the limit is refused like them.
        if (await throttle.SucceedAsync(username, address, cancellationToken) is { Allowed: false } raced)
        {
            return Throttled(raced);
        }

        await HttpContext.SignInAsync(PageAuthentication.SchemeName, PageAuthentication.SessionPrincipal(person), new AuthenticationProperties { IsPersistent = false });
        Log.SignedIn(logger, person.Role);
        return LocalRedirect(ReturnUrl ?? LandingPath(person));
    }

    /// <summary>
    /// The form again with the wait in its error, status 429 and <c>Retry-After</c> (RFC 6585 §4). The same whichever
    /// limit refused and whether or not the username exists.
    /// </summary>
    private PageResult Throttled(ThrottleDecision decision)
    {
        Log.SignInThrottled(logger, decision.RefusedBy!);
        var minutes = decision.RetryAfterMinutes;
        Errors.Add(UsernameField, $"{ThrottledMessage} Wait {minutes} {(minutes == 1 ? "minute" : "minutes")}, then try again");
        Response.Headers.RetryAfter = decision.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var page = Page();
        page.StatusCode = StatusCodes.Status429TooManyRequests;
        return page;
    }

    /// <summary>Where a person lands when no page asked them to sign in.</summary>
    public static string LandingPath(Person person) => person is Citizen ? "/account" : "/";

    /// <summary>
    /// <paramref name="returnUrl"/> when it is a path on this site (<c>/account</c>), else null. Refuses absolute
    /// URLs, protocol-relative <c>//host</c> and <c>/\host</c>, which browsers treat as another site.
    /// </summary>
    public string? SafeReturnUrl(string? returnUrl) => SafeReturnUrl(Url, returnUrl);

    /// <inheritdoc cref="SafeReturnUrl(string?)"/>
    public static string? SafeReturnUrl(IUrlHelper url, string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.Length <= 2048 && url.IsLocalUrl(returnUrl) && !returnUrl.StartsWith("~", StringComparison.Ordinal)
            ? returnUrl
            : null;
}
