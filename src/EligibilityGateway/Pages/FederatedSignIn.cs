using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Pages;

/// <summary>Registers federated sign-in with the external OpenID Connect provider (Pages/README.md, <i>Federated sign-in</i>).</summary>
internal static class FederatedSignInServiceCollectionExtensions
{
    /// <summary>Longest a provider's response may be: discovery, keys and token responses are a few kilobytes.</summary>
    private const int MaximumResponseBytes = 1024 * 1024;

    /// <summary>
    /// The <c>IdentityProvider</c> options (validated on start), the relying-party client and, when the provider is
    /// configured, <see cref="FederatedPeopleDirectory"/> as the <see cref="IPeopleDirectory"/>; otherwise the sandbox
    /// directory alone. A host that registered its own directory first keeps it.
    /// </summary>
    public static IServiceCollection AddFederatedSignIn(this IServiceCollection services)
    {
        services.AddOptions<IdentityProviderOptions>().BindConfiguration(IdentityProviderOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdentityProviderOptions>, IdentityProviderOptionsValidator>());
        services.TryAddSingleton<IdentityProviderClient>();
        services.TryAddSingleton<EligibilityGateway.Authorization.SharedAuthorizationState>();
        services.TryAddSingleton<FederatedCitizens>();
        services.TryAddSingleton<SandboxPeopleDirectory>();
        services.TryAddSingleton<FederatedPeopleDirectory>();
        services.TryAddSingleton<IPeopleDirectory>(provider => provider.GetRequiredService<IOptions<IdentityProviderOptions>>().Value.Enabled
            ? provider.GetRequiredService<FederatedPeopleDirectory>()
            : provider.GetRequiredService<SandboxPeopleDirectory>());
        services.AddHttpClient(IdentityProviderClient.HttpClientName, client =>
            {
                client.Timeout = TimeSpan.FromSeconds(10);
                client.MaxResponseContentBufferSize = MaximumResponseBytes;
            })
            // The provider's endpoints are used exactly as its discovery document names them; a redirect is refused.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        return services;
    }
}

/// <summary>
/// The cookie that carries a <see cref="FederatedSignInRequest"/> from <c>/sign-in/external</c> to
/// <c>/sign-in/callback</c>: data-protected (so it cannot be read or forged), <c>HttpOnly</c>, <c>SameSite=Lax</c> (the
/// provider's redirect back is a top-level GET from another site, which Lax lets through) and gone after 10 minutes.
/// </summary>
internal static class FederatedSignInCookie
{
    public const string Name = "egw-oidc";

    private const string Purpose = "EligibilityGateway.Pages.FederatedSignIn.v1";

    public static void Write(HttpContext context, FederatedSignInRequest request)
    {
        var security = context.RequestServices.GetRequiredService<PageCookieSecurity>();
        var protector = context.RequestServices.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose);
        context.Response.Cookies.Append(security.Name(Name), protector.Protect(JsonSerializer.Serialize(request)), Options(security));
    }

    /// <summary>The request this browser started, and the cookie deleted: a callback is answered once.</summary>
    public static FederatedSignInRequest? Take(HttpContext context)
    {
        var security = context.RequestServices.GetRequiredService<PageCookieSecurity>();
        var name = security.Name(Name);
        if (!context.Request.Cookies.TryGetValue(name, out var value) || string.IsNullOrEmpty(value))
        {
            return null;
        }

        context.Response.Cookies.Delete(name, Options(security));
        try
        {
            var protector = context.RequestServices.GetRequiredService<IDataProtectionProvider>().CreateProtector(Purpose);
            return JsonSerializer.Deserialize<FederatedSignInRequest>(protector.Unprotect(value));
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or JsonException or FormatException)
        {
            return null;
        }
    }

    private static CookieOptions Options(PageCookieSecurity security) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Lax,
        Path = "/",
        Secure = security.Secure,
        MaxAge = IdentityProviderClient.SignInWindow,
        IsEssential = true,
    };
}

/// <summary>The GOV.UK error pages of a federated sign-in that did not work: plain English, nothing technical.</summary>
internal static class FederatedSignInPages
{
    public static ProblemPage For(FederatedSignInFailure failure, string providerName) => failure switch
    {
        FederatedSignInFailure.Cancelled => new(
            StatusCodes.Status400BadRequest,
            "You have not signed in",
            [$"You stopped signing in with {providerName}, or chose not to share your details, so you have not been signed in and nothing has been shared.",
             "To continue, go back to the council's website and start again."]),
        FederatedSignInFailure.Expired => new(
            StatusCodes.Status400BadRequest,
            "Your sign-in has expired",
            ["Signing in took too long, or was started in another browser or tab, so you have not been signed in.",
             "Go back to the council's website and start again."]),
        FederatedSignInFailure.IdentityIncomplete => new(
            StatusCodes.Status400BadRequest,
            "We could not confirm who you are",
            [$"{providerName} did not give us all of your National Insurance number (or NASS number), surname and date of birth. We need them to check your details with government departments.",
             "You have not been signed in and nothing has been shared. Go back to the council's website to find other ways to apply."]),
        FederatedSignInFailure.Unavailable => new(
            StatusCodes.Status503ServiceUnavailable,
            "Sorry, signing in is not available at the moment",
            [$"We could not reach {providerName}. You have not been signed in.", "Try again later."]),
        _ => new(
            StatusCodes.Status400BadRequest,
            "Sorry, we could not sign you in",
            [$"Signing in with {providerName} did not work, so you have not been signed in and nothing has been shared.",
             "Go back to the council's website and start again."]),
    };

    public static ProblemPage NotOffered { get; } = new(
        StatusCodes.Status404NotFound,
        "Page not found",
        ["This service does not offer signing in with an identity provider."]);
}
