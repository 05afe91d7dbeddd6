using System.Net.Http.Headers;
using System.Text;
using EligibilityGateway.Authorization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Pages;

/// <summary>
/// Federated sign-in with the external OpenID Connect provider (Pages/README.md, <i>Federated sign-in</i>): ASP.NET
/// Core's OpenID Connect handler, configured from <see cref="IdentityProviderOptions"/>, signing in to the page session.
/// </summary>
internal static class FederatedSignIn
{
    /// <summary>The authentication scheme of the identity provider; it exists only while a provider is configured.</summary>
    public const string SchemeName = "IdentityProvider";

    /// <summary>Where the provider sends the citizen back: the gateway's issuer plus this path.</summary>
    public const string CallbackPath = "/sign-in/callback";

    /// <summary>How long a started sign-in may take: the correlation and nonce cookies, and the nonce, last this long.</summary>
    public static readonly TimeSpan SignInWindow = TimeSpan.FromMinutes(10);

    /// <summary>Tolerance for the provider's clock in <c>exp</c>, <c>nbf</c> and <c>iat</c>.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The <c>IdentityProvider</c> options (validated on start) and, when a provider is configured, the OpenID Connect
    /// scheme and <see cref="FederatedPeopleDirectory"/> as the <see cref="IPeopleDirectory"/>; otherwise the sandbox
    /// directory alone. A host that registered its own directory first keeps it.
    /// </summary>
    public static IServiceCollection AddFederatedSignIn(this IServiceCollection services)
    {
        services.AddOptions<IdentityProviderOptions>().BindConfiguration(IdentityProviderOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IdentityProviderOptions>, IdentityProviderOptionsValidator>());
        services.TryAddSingleton(SharedAuthorizationState.Create);
        services.TryAddSingleton<FederatedCitizens>();
        services.TryAddSingleton<SandboxPeopleDirectory>();
        services.TryAddSingleton<FederatedPeopleDirectory>();
        services.TryAddSingleton<IPeopleDirectory>(provider => provider.GetRequiredService<IOptions<IdentityProviderOptions>>().Value.Enabled
            ? provider.GetRequiredService<FederatedPeopleDirectory>()
            : provider.GetRequiredService<SandboxPeopleDirectory>());

        // What AddOpenIdConnect registers, except the scheme itself: that is added only when a provider is configured,
        // because the authentication middleware runs every remote scheme's handler on every request, and an
        // unconfigured one would fail them all.
        services.AddAuthentication();
        services.AddOptions<AuthenticationOptions>().Configure<IOptions<IdentityProviderOptions>>((authentication, provider) =>
        {
            if (provider.Value.Enabled)
            {
                authentication.AddScheme<OpenIdConnectHandler>(SchemeName, provider.Value.DisplayName);
            }
        });
        services.TryAddTransient<OpenIdConnectHandler>();

        // The handler's Debug and Trace messages carry the callback URL (code and state) and the authorization URL;
        // what a sign-in did is in the gateway's own events (2020-2024), which carry neither.
        services.AddLogging(logging => logging.AddFilter(typeof(OpenIdConnectHandler).Namespace, LogLevel.Information));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<OpenIdConnectOptions>, OpenIdConnectSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<OpenIdConnectOptions>, OpenIdConnectPostConfigureOptions>());
        services.AddOptions<OpenIdConnectOptions>(SchemeName).Validate(options =>
        {
            options.Validate(SchemeName);
            return true;
        });
        return services;
    }

    /// <summary>The redirect URI registered at the provider: from the gateway's issuer, never the request's Host header.</summary>
    public static string RedirectUri(GatewayIssuer issuer) => issuer.Value + CallbackPath;

    /// <summary>
    /// The handler's options from <see cref="IdentityProviderOptions"/>: authorization code flow with PKCE, state and
    /// nonce (OpenID Connect Core §3.1, RFC 7636), PAR when the provider offers it (RFC 9126), endpoints and keys from
    /// discovery, and the page session as the scheme signed in to.
    /// </summary>
    private sealed class OpenIdConnectSetup(
        IOptions<IdentityProviderOptions> identityProvider,
        GatewayIssuer issuer,
        PageCookieSecurity cookies,
        FederatedCitizens citizens,
        TimeProvider timeProvider,
        ILoggerFactory loggers) : IConfigureNamedOptions<OpenIdConnectOptions>
    {
        /// <summary>Longest a provider's response may be: discovery, keys and token responses are a few kilobytes.</summary>
        private const int MaximumResponseBytes = 1024 * 1024;

        /// <summary>RFC 8725 §3.1: an explicit list; <c>none</c> and HS* (which would take a public key as a secret) never verify.</summary>
        private static readonly string[] IdTokenAlgorithms =
        [
            SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
            SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
            SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
        ];

        public void Configure(OpenIdConnectOptions options) => Configure(Options.DefaultName, options);

        public void Configure(string? name, OpenIdConnectOptions options)
        {
            var settings = identityProvider.Value;
            if (name != SchemeName || !settings.Enabled)
            {
                return;
            }

            var authority = new Uri(settings.Authority!);
            var clientKey = FederatedClientAuthentication.LoadKey(settings);
            options.Authority = settings.Authority;
            options.ClientId = settings.ClientId;

            // Client authentication is the gateway's own (FederatedClientAuthentication): client_secret_basic or
            // private_key_jwt. With no ClientSecret the handler never puts a secret in a request body.
            options.ClientSecret = null;
            options.ResponseType = OpenIdConnectResponseType.Code;
            options.ResponseMode = OpenIdConnectResponseMode.Query; // a GET back, which the SameSite=Lax cookies survive
            options.UsePkce = true;
            options.PushedAuthorizationBehavior = PushedAuthorizationBehavior.UseIfAvailable;
            options.Scope.Clear();
            foreach (var scope in new[] { "openid" }.Concat(settings.Scope.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.Ordinal))
            {
                options.Scope.Add(scope);
            }

            options.CallbackPath = CallbackPath;
            options.SignInScheme = PageAuthentication.SchemeName;
            options.SaveTokens = false;
            options.GetClaimsFromUserInfoEndpoint = false;
            options.UseTokenLifetime = false;
            options.DisableTelemetry = true;
            options.SkipUnrecognizedRequests = false;
            options.RemoteAuthenticationTimeout = SignInWindow;
            options.TimeProvider = timeProvider;

            // The handler validates a token-endpoint ID token with RequireSignedTokens off (OpenID Connect Core
            // §3.1.3.7 (6) allows TLS to stand in for the signature); this gateway requires the signature anyway.
            options.TokenHandler = new SignedIdTokenHandler();
            options.MapInboundClaims = false;
            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = settings.Authority,
                ValidAudience = settings.ClientId,
                ValidAlgorithms = IdTokenAlgorithms,
                ValidateIssuer = true,
                ValidateAudience = true,
                ValidateLifetime = true,
                RequireExpirationTime = true,
                RequireSignedTokens = true,
                ClockSkew = ClockSkew,
                LifetimeValidator = ValidateLifetime,
                NameClaimType = JwtRegisteredClaimNames.Sub,
            };
            // The handler checks state itself: data-protected, and bound to this browser by the correlation cookie.
            options.ProtocolValidator = new OpenIdConnectProtocolValidator { RequireNonce = true, RequireStateValidation = false, NonceLifetime = SignInWindow };

            // The correlation cookie (state) and the nonce cookie: HttpOnly, SameSite=Lax (the provider's redirect back
            // is a top-level GET from another site), Secure and __Host- when the gateway is served over HTTPS.
            foreach (var (cookie, prefix) in new[] { (options.CorrelationCookie, "egw-oidc."), (options.NonceCookie, "egw-oidc-nonce.") })
            {
                cookie.Name = cookies.Name(prefix);
                cookie.Path = "/";
                cookie.HttpOnly = true;
                cookie.SameSite = SameSiteMode.Lax;
                cookie.SecurePolicy = cookies.Secure ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                cookie.IsEssential = true;
            }

            options.NonceCookie.Expiration = SignInWindow;

            // The provider's endpoints are used exactly as its discovery document names them: redirects are refused.
            options.Backchannel = Client();
            if (clientKey is null)
            {
                // RFC 6749 §2.3.1: each part form-urlencoded before Basic.
                options.Backchannel.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
                    Uri.EscapeDataString(settings.ClientId!) + ":" + Uri.EscapeDataString(settings.ClientSecret!))));
            }

            var loopbackHttp = authority.Scheme == Uri.UriSchemeHttp;
            options.RequireHttpsMetadata = !loopbackHttp;
            options.MetadataAddress = settings.DiscoveryAddress.AbsoluteUri;
            options.ConfigurationManager = new ConfigurationManager<OpenIdConnectConfiguration>(
                options.MetadataAddress,
                new OpenIdConnectConfigurationRetriever(),
                new HttpDocumentRetriever(Client()) { RequireHttps = !loopbackHttp },
                new ProviderMetadataValidator(settings.Authority!, loggers.CreateLogger<ProviderMetadataValidator>()))
            {
                AutomaticRefreshInterval = TimeSpan.FromHours(1),

                // An ID token naming an unknown kid re-reads the keys (the provider rotated them), at most this often,
                // so that forged tokens cannot make the gateway hammer the provider.
                RefreshInterval = TimeSpan.FromSeconds(30),
            };
            options.Events = new FederatedSignInEvents(
                settings, issuer, citizens, new FederatedClientAuthentication(settings.ClientId!, clientKey, timeProvider), timeProvider, loggers.CreateLogger<FederatedSignInEvents>());
        }

        /// <summary>OpenID Connect Core §3.1.3.7 (9): exp required and not past, nbf not future, against the injected clock.</summary>
        private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
        {
            var now = timeProvider.GetUtcNow().UtcDateTime;
            if (expires is not { } exp)
            {
                throw new SecurityTokenNoExpirationException("The ID token has no exp.");
            }

            if (exp + ClockSkew < now)
            {
                throw new SecurityTokenExpiredException("The ID token has expired.") { Expires = exp };
            }

            if (notBefore is { } nbf && nbf - ClockSkew > now)
            {
                throw new SecurityTokenNotYetValidException("The ID token is not valid yet.") { NotBefore = nbf };
            }

            return true;
        }

        private static HttpClient Client() =>
            new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            {
                Timeout = TimeSpan.FromSeconds(10),
                MaxResponseContentBufferSize = MaximumResponseBytes,
            };
    }

    /// <summary>
    /// OpenID Connect Discovery §4.3: the document's <c>issuer</c> is exactly the configured authority; the endpoints
    /// the gateway uses are https (http only to a loopback host); the provider publishes a signing key.
    /// </summary>
    private sealed class ProviderMetadataValidator(string authority, ILogger<ProviderMetadataValidator> logger) : IConfigurationValidator<OpenIdConnectConfiguration>
    {
        public ConfigurationValidationResult Validate(OpenIdConnectConfiguration configuration)
        {
            var reason = configuration switch
            {
                null => "no discovery document",
                _ when !string.Equals(configuration.Issuer, authority, StringComparison.Ordinal) => "issuer differs from IdentityProvider:Authority",
                _ when !Acceptable(configuration.AuthorizationEndpoint) || !Acceptable(configuration.TokenEndpoint) || !Acceptable(configuration.JwksUri)
                       || (configuration.PushedAuthorizationRequestEndpoint is { Length: > 0 } par && !Acceptable(par)) => "an endpoint is missing or not https",
                _ when configuration.SigningKeys.Count == 0 => "the provider publishes no signing key",
                _ => null,
            };
            if (reason is null)
            {
                return new ConfigurationValidationResult { Succeeded = true };
            }

            Log.IdentityProviderMetadataRefused(logger, reason);
            return new ConfigurationValidationResult { Succeeded = false, ErrorMessage = reason };

            static bool Acceptable(string? address) =>
                Uri.TryCreate(address, UriKind.Absolute, out var uri) && IdentityProviderOptions.IsAcceptableEndpoint(uri);
        }
    }

    /// <summary>
    /// The JSON web token handler with a signature always required: the OpenID Connect handler switches
    /// <see cref="TokenValidationParameters.RequireSignedTokens"/> off for an ID token from the token endpoint, and an
    /// unsigned (<c>alg: none</c>) or signature-less token must never sign anyone in (RFC 8725 §3.1).
    /// </summary>
    private sealed class SignedIdTokenHandler : JsonWebTokenHandler
    {
        public SignedIdTokenHandler() => MapInboundClaims = false;

        public override Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
        {
            ArgumentNullException.ThrowIfNull(validationParameters);
            var required = validationParameters.Clone();
            required.RequireSignedTokens = true;
            return base.ValidateTokenAsync(token, required);
        }
    }
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

/// <summary>Why a federated sign-in did not sign anyone in.</summary>
internal enum FederatedSignInFailure
{
    /// <summary>The citizen cancelled at the provider, or refused to share their details.</summary>
    Cancelled,

    /// <summary>The response or the ID token failed a check (state, iss, code, signature, issuer, audience, nonce, expiry).</summary>
    Invalid,

    /// <summary>The sign-in was started too long ago, or in another browser.</summary>
    Expired,

    /// <summary>The provider did not give a complete, valid identity (identifier, surname, date of birth).</summary>
    IdentityIncomplete,

    /// <summary>The provider could not be reached.</summary>
    Unavailable,
}

/// <summary>A check of the gateway's own refused the provider's response; the handler passes it to its failure event.</summary>
internal sealed class FederatedSignInRefusedException(FederatedSignInFailure failure, string reason) : Exception(reason)
{
    public FederatedSignInFailure Failure { get; } = failure;

    /// <summary>A fixed phrase, safe to log: never a claim, code or token.</summary>
    public string Reason { get; } = reason;
}
