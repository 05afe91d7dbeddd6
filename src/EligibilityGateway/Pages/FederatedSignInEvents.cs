using System.Security.Cryptography;
using EligibilityGateway.Authorization;
using EligibilityGateway.Checks;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Pages;

/// <summary>
/// What the gateway adds to ASP.NET Core's OpenID Connect handler: its own redirect URI and client authentication,
/// RFC 9207's <c>iss</c> check, the identity read from the configured claims into the page session, and a GOV.UK
/// page for every failure. Nothing personal is logged: only fixed reasons.
/// </summary>
internal sealed class FederatedSignInEvents(
    IdentityProviderOptions settings,
    GatewayIssuer issuer,
    FederatedCitizens citizens,
    FederatedClientAuthentication clientAuthentication,
    TimeProvider timeProvider,
    ILogger<FederatedSignInEvents> logger) : OpenIdConnectEvents
{
    public override Task RedirectToIdentityProvider(RedirectContext context)
    {
        // The handler would build redirect_uri from the request's Host; the one registered at the provider comes
        // from the gateway's issuer. The handler copies it into the pushed request and the code exchange.
        context.ProtocolMessage.RedirectUri = FederatedSignIn.RedirectUri(issuer);
        Log.FederatedSignInStarted(logger);
        return Task.CompletedTask;
    }

    public override async Task PushAuthorization(PushedAuthorizationContext context)
    {
        // RFC 9126 §2: the pushed request is client-authenticated as at the token endpoint (Basic is on the backchannel).
        context.ProtocolMessage.RedirectUri = FederatedSignIn.RedirectUri(issuer);
        await AddClientAssertionAsync(context.ProtocolMessage, context.Options, context.HttpContext.RequestAborted);
        context.HandleClientAuthentication();
    }

    public override Task MessageReceived(MessageReceivedContext context)
    {
        // RFC 6749 §3.1: a response parameter is never sent twice; which copy would be believed is anyone's guess.
        if (context.Request.Query.Any(p => p.Value.Count != 1))
        {
            context.Fail(new FederatedSignInRefusedException(FederatedSignInFailure.Invalid, "a response parameter was repeated"));
        }

        return Task.CompletedTask;
    }

    public override async Task AuthorizationCodeReceived(AuthorizationCodeReceivedContext context)
    {
        // State and correlation have been checked by now. RFC 9207 §2.4: when present (and required when the provider
        // says it sends it), iss names our provider, so a response from another provider is not taken for its (mix-up).
        var configuration = await context.Options.ConfigurationManager!.GetConfigurationAsync(context.HttpContext.RequestAborted);
        var iss = context.ProtocolMessage.Iss;
        if ((!string.IsNullOrEmpty(iss) || configuration.AuthorizationResponseIssParameterSupported)
            && !string.Equals(iss, configuration.Issuer, StringComparison.Ordinal))
        {
            context.Fail(new FederatedSignInRefusedException(FederatedSignInFailure.Invalid, "iss did not name the provider"));
            return;
        }

        await AddClientAssertionAsync(context.TokenEndpointRequest!, context.Options, context.HttpContext.RequestAborted);
    }

    public override Task TokenResponseReceived(TokenResponseReceivedContext context)
    {
        // OpenID Connect Core §3.1.3.3: a successful token response carries the ID token; without one nobody is identified.
        if (string.IsNullOrEmpty(context.TokenEndpointResponse.IdToken))
        {
            context.Fail(new FederatedSignInRefusedException(FederatedSignInFailure.Invalid, "the token response had no ID token"));
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// The ID token has passed the handler's token checks (signature, issuer, audience, lifetime): what OpenID Connect
    /// Core §3.1.3.7 asks beyond them, then the identity. Nobody is signed in yet: the handler checks the nonce after
    /// this event, so the session is made in <see cref="TicketReceived"/>, once every check has passed.
    /// </summary>
    public override Task TokenValidated(TokenValidatedContext context)
    {
        var token = context.SecurityToken;
        var refusal = token switch
        {
            // §3.1.3.7 (4, 5): several audiences need an azp, and an azp must be us.
            _ when (token.Audiences.Count() > 1 && string.IsNullOrEmpty(token.Payload.Azp))
                   || (!string.IsNullOrEmpty(token.Payload.Azp) && !string.Equals(token.Payload.Azp, settings.ClientId, StringComparison.Ordinal))
                => "the ID token is for another party",

            // §3.1.3.7 (10): iat is required (the protocol validator checks it is there) and not in the future.
            _ when token.Payload.IssuedAt - FederatedSignIn.ClockSkew > timeProvider.GetUtcNow().UtcDateTime => "the ID token iat is in the future",

            // §2: sub is required, at most 255 ASCII characters.
            _ when token.Subject is not { Length: > 0 and <= 255 } sub || sub.Any(c => c is < ' ' or > '~') => "the ID token has no usable sub",
            _ => null,
        };
        if (refusal is not null)
        {
            context.Fail(new FederatedSignInRefusedException(FederatedSignInFailure.Invalid, refusal));
        }
        else if (ReadIdentity(token.Payload, DateOnly.FromDateTime(timeProvider.GetUtcNow().UtcDateTime)) is not { } identity)
        {
            context.Fail(new FederatedSignInRefusedException(FederatedSignInFailure.IdentityIncomplete, "the ID token lacks a valid identity"));
        }
        else
        {
            context.HttpContext.Items[typeof(VerifiedCitizen)] = new VerifiedCitizen(token.Issuer, token.Subject, identity);
        }

        return Task.CompletedTask;
    }

    /// <summary>Every check has passed: the citizen is remembered and the page session, holding their keyed subject alone, is issued.</summary>
    public override async Task TicketReceived(TicketReceivedContext context)
    {
        if (context.HttpContext.Items[typeof(VerifiedCitizen)] is not VerifiedCitizen verified)
        {
            // The handler ignores a failure set here and would sign in its own principal: the response is ours instead.
            await RefuseAsync(context.HttpContext, context, FederatedSignInFailure.Invalid, "the ID token was not checked");
            return;
        }

        context.HttpContext.Items.Remove(typeof(VerifiedCitizen));

        // The redirect that sets the session cookie is a page response: no-store like every other (README.md).
        PageSecurityHeaders.EnsureApplied(context.HttpContext);
        var citizen = citizens.Remember(verified.Issuer, verified.ProviderSubject, verified.Identity);
        context.Principal = PageAuthentication.SessionPrincipal(citizen);

        // The session ticket keeps nothing the sign-in carried (redirect URI, session state): only the subject and role.
        context.Properties!.Items.Clear();
        context.Properties.IsPersistent = false;
        context.ReturnUri = context.ReturnUri is { Length: > 1 } returnUrl && returnUrl[0] == '/' && returnUrl[1] is not ('/' or '\\')
            ? returnUrl
            : SignInModel.LandingPath(citizen);
        Log.SignedIn(logger, citizen.Role);
    }

    public override Task AccessDenied(AccessDeniedContext context) =>
        // RFC 6749 §4.1.2.1: access_denied is the citizen cancelling at the provider or refusing to share their details.
        RefuseAsync(context.HttpContext, context, FederatedSignInFailure.Cancelled, "the citizen cancelled");

    public override Task RemoteFailure(RemoteFailureContext context)
    {
        var (failure, reason) = Classify(context.Failure, context.Properties);
        return RefuseAsync(context.HttpContext, context, failure, reason);
    }

    /// <summary>Which page, and which fixed reason to log, for an exception the handler failed the callback with.</summary>
    private static (FederatedSignInFailure Failure, string Reason) Classify(Exception? failure, AuthenticationProperties? properties) => failure switch
    {
        FederatedSignInRefusedException refused => (refused.Failure, refused.Reason),

        // No state, or one this gateway did not protect (RFC 6749 §10.12, login CSRF).
        _ when properties is null => (FederatedSignInFailure.Invalid, "state did not match"),

        // The provider's error response, or its token endpoint refusing the code.
        OpenIdConnectProtocolInvalidNonceException => (FederatedSignInFailure.Invalid, "the ID token nonce did not match"),
        OpenIdConnectProtocolException when failure.Data.Contains("error") => (FederatedSignInFailure.Invalid, "the provider answered with an error"),

        // The handler wraps what it could not read as a token response (not JSON, not an object, empty) around the parser's error.
        OpenIdConnectProtocolException { InnerException: ArgumentException } => (FederatedSignInFailure.Invalid, "the token response was not JSON"),
        SecurityTokenInvalidIssuerException => (FederatedSignInFailure.Invalid, "the ID token is from another issuer"),
        SecurityTokenInvalidAudienceException => (FederatedSignInFailure.Invalid, "the ID token is for another audience"),
        SecurityTokenInvalidAlgorithmException => (FederatedSignInFailure.Invalid, "the ID token algorithm is not allowed"),
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => (FederatedSignInFailure.Invalid, "the ID token signature did not verify"),
        SecurityTokenExpiredException or SecurityTokenNoExpirationException => (FederatedSignInFailure.Invalid, "the ID token has expired"),
        SecurityTokenException or OpenIdConnectProtocolException => (FederatedSignInFailure.Invalid, "the ID token did not validate"),
        HttpRequestException or TaskCanceledException or IOException => (FederatedSignInFailure.Unavailable, "the provider could not be reached"),
        InvalidOperationException => (FederatedSignInFailure.Unavailable, "provider metadata could not be read"),

        // The state was ours but this browser holds no correlation cookie for it: started in another browser, already
        // used (a replayed callback), or older than the sign-in window.
        AuthenticationFailureException => (FederatedSignInFailure.Expired, "no sign-in was started in this browser"),
        _ => (FederatedSignInFailure.Invalid, "the response did not validate"),
    };

    private async Task RefuseAsync<TOptions>(HttpContext context, HandleRequestContext<TOptions> handled, FederatedSignInFailure failure, string reason)
        where TOptions : AuthenticationSchemeOptions
    {
        Log.FederatedSignInRefused(logger, failure, reason);

        // Written by the authentication middleware, before the pages' own middleware sets their headers.
        PageSecurityHeaders.EnsureApplied(context);
        await ProblemPages.WriteAsync(context, FederatedSignInPages.For(failure, settings.DisplayName));
        handled.HandleResponse();
    }

    /// <summary><c>private_key_jwt</c>: a fresh client assertion whose audience is the token endpoint (RFC 9126 §2 allows it for PAR too).</summary>
    private async Task AddClientAssertionAsync(OpenIdConnectMessage message, OpenIdConnectOptions options, CancellationToken cancellationToken)
    {
        if (!clientAuthentication.UsesKey)
        {
            return;
        }

        var configuration = await options.ConfigurationManager!.GetConfigurationAsync(cancellationToken);
        message.ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
        message.ClientAssertion = clientAuthentication.CreateAssertion(configuration.TokenEndpoint);
    }

    /// <summary>The identity from the configured claims (strings only), validated and normalised exactly as a check's subject is.</summary>
    private Subject? ReadIdentity(System.IdentityModel.Tokens.Jwt.JwtPayload payload, DateOnly today)
    {
        var names = settings.Claims;
        var body = new SubjectBody(Claim(names.NationalInsuranceNumber), Claim(names.NationalAsylumSeekerServiceNumber), Claim(names.LastName), Claim(names.DateOfBirth));
        return CheckRequestValidator.ValidateSubject(body, today, new ValidationErrors());

        string? Claim(string name) => payload.TryGetValue(name, out var value) ? value as string : null;
    }
}

/// <summary>
/// How the gateway authenticates to the provider's token and PAR endpoints (OpenID Connect Core §9): <c>private_key_jwt</c>
/// with <c>ClientKeyPath</c> (EC P-256 signs ES256, RSA signs RS256), otherwise <c>client_secret_basic</c>, which the
/// backchannel's Authorization header carries.
/// </summary>
internal sealed class FederatedClientAuthentication(string clientId, SigningCredentials? key, TimeProvider timeProvider)
{
    private readonly JsonWebTokenHandler tokens = new();

    public bool UsesKey => key is not null;

    /// <summary>iss = sub = the client id, aud = <paramref name="audience"/>, 60 seconds, a single-use jti.</summary>
    public string CreateAssertion(string audience)
    {
        var now = timeProvider.GetUtcNow();
        return tokens.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Audience = audience,
            Claims = new Dictionary<string, object>
            {
                [JwtRegisteredClaimNames.Sub] = clientId,
                [JwtRegisteredClaimNames.Jti] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32)),
            },
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + TimeSpan.FromMinutes(1)).UtcDateTime,
            SigningCredentials = key ?? throw new InvalidOperationException("No client key is configured."),
        });
    }

    /// <summary>The signing key from <c>ClientKeyPath</c>, or null for <c>client_secret_basic</c>.</summary>
    public static SigningCredentials? LoadKey(IdentityProviderOptions settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (string.IsNullOrWhiteSpace(settings.ClientKeyPath))
        {
            return null;
        }

        var pem = File.ReadAllText(settings.ClientKeyPath);
        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(pem);
            return new SigningCredentials(new ECDsaSecurityKey(ecdsa) { KeyId = settings.ClientKeyId }, SecurityAlgorithms.EcdsaSha256);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            ecdsa.Dispose();
        }

        var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        return new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = settings.ClientKeyId }, SecurityAlgorithms.RsaSha256);
    }
}

/// <summary>What the ID token verified, kept for the request between the token checks and the session.</summary>
internal sealed record VerifiedCitizen(string Issuer, string ProviderSubject, Subject Identity)
{
    public override string ToString() => "VerifiedCitizen { redacted }";
}
