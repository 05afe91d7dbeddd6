using System.Security.Claims;
using EligibilityGateway.Security;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EligibilityGateway.Authorization;

/// <summary>
/// Authentication scheme <c>Bearer</c> for the gateway's APIs: <see cref="JwtBearerHandler"/> validating the
/// gateway's own RFC 9068 access tokens, with the refusals and answers of RFC 6750 §3 (README.md, "API-side
/// validation").
/// </summary>
internal static class GatewayBearer
{
    public const string SchemeName = JwtBearerDefaults.AuthenticationScheme;

    /// <summary>Where a failed scope requirement leaves the scope it wanted, for the 403 challenge (RFC 6750 §3).</summary>
    internal const string MissingScopeItem = "EligibilityGateway.Authorization.MissingScope";

    /// <summary>RFC 9457 problem types: stable identifiers a client can switch on.</summary>
    public const string InvalidTokenProblemType = "urn:eligibility-gateway:problem:invalid-token";

    public const string InsufficientScopeProblemType = "urn:eligibility-gateway:problem:insufficient-scope";

    /// <summary>Tolerance for clock differences between replicas; every replica signs, every replica validates.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    /// <summary>Longer than any token this gateway issues; refused before parsing.</summary>
    public const int MaximumTokenLength = 4096;

    internal const string Malformed = "The access token is malformed.";

    /// <summary>
    /// The <c>Bearer</c> scheme's validation (RFC 9068 §4, RFC 8725): <c>typ</c> <c>at+jwt</c>, ES256 only, a key
    /// of the ring named by <c>kid</c>, <c>iss</c> the gateway, <c>aud</c> containing <c>eligibility-gateway</c>,
    /// <c>exp</c> required and, with <c>nbf</c>, checked within <see cref="ClockSkew"/> against the injected clock.
    /// </summary>
    public static void Configure(JwtBearerOptions options, GatewayIssuer issuer, KeyRing keyRing, TimeProvider timeProvider)
    {
        options.MapInboundClaims = false;
        options.EventsType = typeof(GatewayBearerEvents);
        options.TokenValidationParameters = new TokenValidationParameters
        {
            // RFC 9068 §4: the resource server checks typ, so an ID token or client assertion is never taken for an access token.
            ValidTypes = [AccessTokenClaims.TokenType, AccessTokenClaims.TokenTypeLong],
            // RFC 8725 §3.1: an explicit algorithm list; none and HS* (keyed with the public key) cannot pass.
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            // The ring is loaded once per process and holds both keys during a rotation; only the token's kid is tried.
            IssuerSigningKeys = [.. keyRing.PublicSigningKeys()],
            TryAllIssuerSigningKeys = false,
            RequireSignedTokens = true,
            ValidateIssuerSigningKey = false,
            // Read per token rather than fixed here: a derived issuer is known only once the server has bound its port.
            IssuerValidator = (value, _, _) => string.Equals(value, issuer.Identifier, StringComparison.Ordinal)
                ? value
                : throw new SecurityTokenInvalidIssuerException("The token's issuer is not this gateway."),
            // RFC 9068 §4: aud must contain the resource server's identifier; other audiences beside it are the issuer's business.
            ValidAudience = AccessTokenClaims.Audience,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = ClockSkew,
            // The library reads the system clock (its own TimeProvider setting is not public): the injected one decides.
            LifetimeValidator = (notBefore, expires, _, _) => CheckLifetime(notBefore, expires, timeProvider.GetUtcNow().UtcDateTime),
            AuthenticationType = SchemeName,
            NameClaimType = AccessTokenClaims.ClientId,
        };
    }

    /// <summary>
    /// RFC 9068 §4 / RFC 7519 §4.1.4-5: <c>exp</c> required and in the future, <c>nbf</c> (when present) not in the
    /// future, each within <see cref="ClockSkew"/>. Throws the library's own exceptions, so each reads as its kind.
    /// </summary>
    private static bool CheckLifetime(DateTime? notBefore, DateTime? expires, DateTime now)
    {
        if (expires is not { } expiresAt)
        {
            throw new SecurityTokenNoExpirationException("The token has no exp.");
        }

        if (now >= expiresAt + ClockSkew)
        {
            throw new SecurityTokenExpiredException("The token has expired.") { Expires = expiresAt };
        }

        if (notBefore is { } validFrom && now < validFrom - ClockSkew)
        {
            throw new SecurityTokenNotYetValidException("The token is not valid yet.") { NotBefore = validFrom };
        }

        return true;
    }

    /// <summary>Fixed phrases by failure kind: the response says what is wrong without echoing the token or library text.</summary>
    public static string Describe(Exception? exception) => exception switch
    {
        AuthenticationFailureException refused => refused.Message,
        SecurityTokenInvalidIssuerException => "The access token was not issued by this gateway.",
        SecurityTokenInvalidAudienceException => "The access token is not for this API (aud).",
        SecurityTokenInvalidTypeException => "The token is not an access token (typ must be at+jwt).",
        SecurityTokenInvalidAlgorithmException => "The access token's algorithm is not accepted.",
        SecurityTokenSignatureKeyNotFoundException => "The access token's signature does not verify.",
        SecurityTokenInvalidSignatureException => "The access token's signature does not verify.",
        SecurityTokenExpiredException => "The access token has expired.",
        SecurityTokenNotYetValidException => "The access token is not valid yet.",
        SecurityTokenNoExpirationException => "The access token has no expiry.",
        SecurityTokenMalformedException => Malformed,
        _ => "The access token is not valid.",
    };
}

/// <summary>
/// The <c>Bearer</c> scheme's events: the token from the <c>Authorization</c> header only, a validation remembered
/// for that exact token (<see cref="ValidatedAccessTokenCache"/>), the RFC 9068 claims and revocation, the client
/// looked up in the trust framework in force on every request, and the RFC 6750 §3 answers with RFC 9457 problem
/// documents.
/// </summary>
internal sealed class GatewayBearerEvents(
    AccessTokenReader reader,
    ValidatedAccessTokenCache cache,
    RevokedAccessTokens revoked,
    TrustFrameworkMonitor monitor,
    ILogger<GatewayBearerEvents> logger)
    : JwtBearerEvents
{
    /// <summary>RFC 6750 §2.1 only: the query (§2.3) and form body (§2.2) forms are never read.</summary>
    public override Task MessageReceived(MessageReceivedContext context)
    {
        if (!TryReadBearerToken(context.Request, out var token))
        {
            // RFC 6750 §3.1: with no credentials at all, the challenge carries no error code.
            context.NoResult();
        }
        else if (token is null)
        {
            Refuse(context, "The Authorization header is not a valid Bearer credential (RFC 6750 section 2.1).");
        }
        else if (token.Length > GatewayBearer.MaximumTokenLength)
        {
            Refuse(context, GatewayBearer.Malformed);
        }
        else if (cache.TryGet(token, out var remembered) && !revoked.IsRevoked(remembered.TokenId))
        {
            // The library validated this very token before and it is still live: no second ECDSA verification. A
            // revoked or lapsed one goes through the library again, which refuses it with the reason.
            return AuthenticateAsync(context, remembered);
        }
        else
        {
            context.Token = token;
        }

        return Task.CompletedTask;
    }

    /// <summary>A refusal by the library becomes a fixed phrase, so the challenge never echoes its text.</summary>
    public override Task AuthenticationFailed(AuthenticationFailedContext context)
    {
        Refuse(context, GatewayBearer.Describe(context.Exception));
        return Task.CompletedTask;
    }

    public override Task TokenValidated(TokenValidatedContext context)
    {
        var token = (JsonWebToken)context.SecurityToken;
        var validation = reader.Read(token);
        if (validation.Token is not { } validated)
        {
            Refuse(context, validation.Failure!);
            return Task.CompletedTask;
        }

        cache.Add(token.EncodedToken, validated);
        return AuthenticateAsync(context, validated);
    }

    /// <summary>
    /// The principal of a validated token whose client is still in the framework in force and, for a consent-bound
    /// token, whose row in the shared token store is still valid — read on every request, so a revocation on any
    /// replica holds at once. A token whose consent was revoked keeps a valid row: the check reads the consent and
    /// answers 409, so the council learns why.
    /// </summary>
    private async Task AuthenticateAsync(ResultContext<JwtBearerOptions> context, ValidatedAccessToken validated)
    {
        if (validated.EntryId is { } entryId)
        {
            var tokens = context.HttpContext.RequestServices.GetRequiredService<OpenIddict.Abstractions.IOpenIddictTokenManager>();
            if (await tokens.FindByIdAsync(entryId, context.HttpContext.RequestAborted) is not { } entry
                || !await tokens.HasStatusAsync(entry, OpenIddict.Abstractions.OpenIddictConstants.Statuses.Valid, context.HttpContext.RequestAborted))
            {
                Refuse(context, "The access token has been revoked.");
                return;
            }
        }

        Authenticate(context, validated);
    }

    private void Authenticate(ResultContext<JwtBearerOptions> context, ValidatedAccessToken validated)
    {
        // Removing a council or auditor from the framework disables its live tokens on the next request.
        if (!monitor.TryGetCurrent(out var framework) || !OAuthClient.TryFind(framework, validated.ClientId, out var client))
        {
            Refuse(context, "The client this token was issued to is not in the trust framework in force.");
            return;
        }

        // The principal carries these claims and no others, whatever else the token holds.
        var identity = new ClaimsIdentity(GatewayBearer.SchemeName, AccessTokenClaims.ClientId, roleType: null);
        identity.AddClaim(new Claim(AccessTokenClaims.ClientId, validated.ClientId));
        identity.AddClaim(new Claim(AccessTokenClaims.Subject, validated.Subject));
        identity.AddClaim(new Claim(AccessTokenClaims.TokenId, validated.TokenId));
        if (validated.ConsentId is { } consentId)
        {
            identity.AddClaim(new Claim(ConsentAuthorizationDetails.ConsentIdClaim, consentId));
        }

        var allowed = GatewayScopes.AllowedFor(client.Kind);
        foreach (var scope in validated.Scopes)
        {
            // A scope the client's kind may no longer hold (say, its id moved from a council to an auditor) is ignored.
            if (allowed.Contains(scope))
            {
                identity.AddClaim(new Claim(AccessTokenClaims.Scope, scope));
            }
        }

        context.Principal = new ClaimsPrincipal(identity);
        context.Success();
    }

    /// <summary>401: RFC 6750 §3 <c>WWW-Authenticate: Bearer</c>, with <c>error="invalid_token"</c> when a token was refused.</summary>
    public override Task Challenge(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        var response = context.Response;
        response.StatusCode = StatusCodes.Status401Unauthorized;
        string detail;
        if (context.AuthenticateFailure is { } failure)
        {
            detail = GatewayBearer.Describe(failure);
            response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", error_description=\"{OAuthError.Sanitise(detail)}\"";
        }
        else
        {
            detail = "An access token is required (Authorization: Bearer).";
            response.Headers.WWWAuthenticate = "Bearer";
        }

        return WriteProblemAsync(context.HttpContext, StatusCodes.Status401Unauthorized, GatewayBearer.InvalidTokenProblemType, "Unauthorized", detail);
    }

    /// <summary>403: RFC 6750 §3.1 <c>error="insufficient_scope"</c> naming the scope the endpoint needs.</summary>
    public override Task Forbidden(ForbiddenContext context)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        var scope = context.HttpContext.Items.TryGetValue(GatewayBearer.MissingScopeItem, out var missing) ? missing as string : null;
        context.Response.Headers.WWWAuthenticate = scope is null
            ? "Bearer error=\"insufficient_scope\""
            : $"Bearer error=\"insufficient_scope\", scope=\"{scope}\"";
        var detail = scope is null ? "The access token does not allow this request." : $"The access token lacks the scope '{scope}'.";
        return WriteProblemAsync(context.HttpContext, StatusCodes.Status403Forbidden, GatewayBearer.InsufficientScopeProblemType, "Forbidden", detail);
    }

    private void Refuse<TOptions>(ResultContext<TOptions> context, string reason)
        where TOptions : AuthenticationSchemeOptions
    {
        Log.BearerTokenRefused(logger, reason);
        context.Fail(reason);
    }

    private static Task WriteProblemAsync(HttpContext context, int status, string type, string title, string detail)
    {
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Problem(detail: detail, statusCode: status, title: title, type: type).ExecuteAsync(context);
    }

    /// <summary>RFC 6750 §2.1: <c>Bearer</c> (any case), one space, a token68. Null token: a Bearer header, but malformed.</summary>
    private static bool TryReadBearerToken(HttpRequest request, out string? token)
    {
        token = null;
        var headers = request.Headers.Authorization;
        if (headers.Count == 0)
        {
            return false;
        }

        var value = headers.Count == 1 ? headers[0] : null;
        const string Scheme = "Bearer";
        if (value is null)
        {
            return true;
        }

        if (!value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || (value.Length > Scheme.Length && value[Scheme.Length] != ' '))
        {
            // Another scheme (say, Basic) is not this scheme's business: no credentials as far as Bearer goes.
            return false;
        }

        var candidate = value[Scheme.Length..].Trim(' ');
        token = candidate.Length > 0 && candidate.All(IsToken68Char) ? candidate : null;
        return true;
    }

    private static bool IsToken68Char(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '+' or '/' or '=';
}

/// <summary>The request needs an access token carrying <see cref="Scope"/>.</summary>
internal sealed class ScopeRequirement(string scope) : IAuthorizationRequirement
{
    public string Scope { get; } = scope;
}

/// <summary>Meets <see cref="ScopeRequirement"/> from the caller's <c>scope</c> claims; on failure notes the scope for the 403.</summary>
internal sealed class ScopeAuthorizationHandler : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (context.User.HasClaim(AccessTokenClaims.Scope, requirement.Scope))
        {
            context.Succeed(requirement);
        }
        else if (context.Resource is HttpContext http)
        {
            http.Items[GatewayBearer.MissingScopeItem] = requirement.Scope;
        }

        return Task.CompletedTask;
    }
}
