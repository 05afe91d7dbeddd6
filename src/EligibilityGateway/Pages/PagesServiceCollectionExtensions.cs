using System.Reflection;
using EligibilityGateway.Authorization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Pages;

/// <summary>Registers and wires the human-facing pages (Pages/README.md).</summary>
public static class PagesServiceCollectionExtensions
{
    /// <summary>
    /// Razor Pages with antiforgery on every POST, the <c>PageSession</c> cookie scheme, the <c>citizen</c> and
    /// <c>auditor</c> policies and the sandbox <see cref="IPeopleDirectory"/> (a host may register its own first).
    /// Needs the trust framework and the authorization server (for the issuer that decides cookie security).
    /// </summary>
    public static IServiceCollection AddGatewayPages(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddFederatedSignIn(); // first: it chooses the IPeopleDirectory from the IdentityProvider settings
        services.TryAddSingleton<IPeopleDirectory, SandboxPeopleDirectory>();
        services.TryAddSingleton<SignInThrottle>();
        services.TryAddSingleton<PageCookieSecurity>();
        services.AddExceptionHandler<PageExceptionHandler>(); // before the API's handler, which would answer problem+json

        services.AddRazorPages(options =>
        {
            options.Conventions.ConfigureFilter(new AntiforgeryFailurePageFilter());
            options.Conventions.ConfigureFilter(new MissingHandlerPageFilter());
        });

        services.AddAntiforgery(options =>
        {
            options.FormFieldName = PageAuthentication.AntiforgeryFieldName;
            options.HeaderName = null;
            options.Cookie.HttpOnly = true;
            options.Cookie.SameSite = SameSiteMode.Strict;
            options.Cookie.Path = "/";

            // The page headers already say DENY, stricter than the SAMEORIGIN antiforgery would add.
            options.SuppressXFrameOptionsHeader = true;
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<AntiforgeryOptions>, AntiforgeryCookieSecurity>());

        services.AddAuthentication()
            .AddCookie(PageAuthentication.SchemeName, options =>
            {
                options.Cookie.Name = PageAuthentication.SessionCookieName;
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.Cookie.Path = "/";
                options.ExpireTimeSpan = PageAuthentication.IdleTimeout;
                options.SlidingExpiration = true;
                options.LoginPath = "/sign-in";
                options.LogoutPath = "/sign-out";
                options.ReturnUrlParameter = "returnUrl";
                options.Events.OnValidatePrincipal = PageAuthentication.ValidatePrincipalAsync;
                // The cookie handler builds the sign-in URL from the request's Host; it must come from the issuer.
                options.Events.OnRedirectToLogin = context =>
                {
                    context.Response.Redirect(PublicOrigin.Absolute(context.HttpContext.RequestServices.GetRequiredService<GatewayIssuer>(), context.RedirectUri));
                    return Task.CompletedTask;
                };
                options.Events.OnRedirectToAccessDenied = context =>
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return ProblemPages.WriteAsync(context.HttpContext, ProblemPage.Forbidden);
                };
            });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<CookieAuthenticationOptions>, SessionCookieSecurity>());

        services.AddAuthorizationBuilder()
            .AddPolicy(PagePolicies.Citizen, policy => policy
                .AddAuthenticationSchemes(PageAuthentication.SchemeName)
                .RequireAuthenticatedUser()
                .RequireRole(PagePolicies.Citizen))
            .AddPolicy(PagePolicies.Auditor, policy => policy
                .AddAuthenticationSchemes(PageAuthentication.SchemeName)
                .RequireAuthenticatedUser()
                .RequireRole(PagePolicies.Auditor)
                .RequireClaim(PageClaims.AuditScope));
        return services;
    }

    /// <summary>
    /// The page part of the pipeline, after <c>UseAuthentication</c> and before <c>UseAuthorization</c>: GOV.UK
    /// Frontend's files, then, for page endpoints only, the security headers and the page session as the request's
    /// user (replacing whatever a bearer token said, so a page never sees an API caller as signed in).
    /// </summary>
    public static WebApplication UseGatewayPages(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var assembly = typeof(PagesServiceCollectionExtensions).Assembly;
        var contentTypes = new FileExtensionContentTypeProvider();
        contentTypes.Mappings[".mjs"] = "text/javascript";

        // govuk-frontend's compiled CSS refers to its fonts and images under /assets/, so they are served there.
        app.UseStaticFiles(AssetOptions(assembly, "EligibilityGateway.wwwroot", "", contentTypes));
        app.UseStaticFiles(AssetOptions(assembly, "EligibilityGateway.wwwroot.govuk.assets", "/assets", contentTypes));

        app.Use(async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<PageEndpointMetadata>() is not null)
            {
                PageSecurityHeaders.Apply(context);
                var session = await context.AuthenticateAsync(PageAuthentication.SchemeName);
                context.User = session.Principal ?? new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity());
            }

            await next(context);
        });
        return app;
    }

    /// <summary>Maps every page, marked with <see cref="PageEndpointMetadata"/>.</summary>
    public static WebApplication MapGatewayPages(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapRazorPages().WithMetadata(PageEndpointMetadata.Instance);
        return app;
    }

    private static StaticFileOptions AssetOptions(Assembly assembly, string baseNamespace, string requestPath, IContentTypeProvider contentTypes) => new()
    {
        FileProvider = new EmbeddedFileProvider(assembly, baseNamespace),
        RequestPath = requestPath,
        ContentTypeProvider = contentTypes,
        OnPrepareResponse = context => PageSecurityHeaders.ApplyToAsset(context.Context.Response),
    };

    /// <summary>Secure and <c>__Host-</c>-prefixed when served over HTTPS (<see cref="PageCookieSecurity"/>).</summary>
    private sealed class AntiforgeryCookieSecurity(PageCookieSecurity security) : IPostConfigureOptions<AntiforgeryOptions>
    {
        public void PostConfigure(string? name, AntiforgeryOptions options)
        {
            options.Cookie.Name = security.Name(PageAuthentication.AntiforgeryCookieName);
            options.Cookie.SecurePolicy = security.Secure ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        }
    }

    private sealed class SessionCookieSecurity(PageCookieSecurity security) : IPostConfigureOptions<CookieAuthenticationOptions>
    {
        public void PostConfigure(string? name, CookieAuthenticationOptions options)
        {
            if (name != PageAuthentication.SchemeName)
            {
                return;
            }

            options.Cookie.Name = security.Name(PageAuthentication.SessionCookieName);
            options.Cookie.SecurePolicy = security.Secure ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        }
    }
}
