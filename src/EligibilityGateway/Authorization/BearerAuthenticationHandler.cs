using System.Security.Claims;
using System.Text.Encodings.Web;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Authorization;

/// <summary>
/// Authentication scheme <c>Bearer</c> for the gateway's APIs (RFC 6750): reads <c>Authorization: Bearer</c>,
/// validates with <see cref="AccessTokenValidator"/>, and then asks the trust framework in force whether the
/// client still exists, so that removing a council or auditor disables its live tokens on the next request.
/// </summary>
internal sealed class BearerAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    AccessTokenValidator validator,
    TrustFrameworkMonitor monitor)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "Bearer";

    /// <summary>Where a failed scope requirement leaves the scope it wanted, for the 403 challenge (RFC 6750 §3).</summary>
    internal const string MissingScopeItem = "EligibilityGateway.Authorization.MissingScope";

    /// <summary>RFC 9457 problem types: stable identifiers a client can switch on.</summary>
    public const string InvalidTokenProblemType = "urn:eligibility-gateway:problem:invalid-token";

    public const string InsufficientScopeProblemType = "urn:eligibility-gateway:problem:insufficient-scope";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!TryReadBearerToken(Request, out var token))
        {
            // RFC 6750 §3.1: with no credentials at all, the challenge carries no error code.
            return AuthenticateResult.NoResult();
        }

        if (token is null)
        {
            return Refuse("The Authorization header is not a valid Bearer credential (RFC 6750 section 2.1).");
        }

        var validation = await validator.ValidateAsync(token);
        if (validation.Token is not { } validated)
        {
            return Refuse(validation.Failure!);
        }

        if (!monitor.TryGetCurrent(out var framework) || !OAuthClient.TryFind(framework, validated.ClientId, out var client))
        {
            return Refuse("The client this token was issued to is not in the trust framework in force.");
        }

        var identity = new ClaimsIdentity(SchemeName, AccessTokenClaims.ClientId, roleType: null);
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

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private AuthenticateResult Refuse(string reason)
    {
        Log.BearerTokenRefused(Logger, reason);
        return AuthenticateResult.Fail(reason);
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
            // Another scheme (say, Basic) is not this handler's business: no credentials as far as Bearer goes.
            return false;
        }

        var candidate = value[Scheme.Length..].Trim(' ');
        token = candidate.Length > 0 && candidate.All(IsToken68Char) ? candidate : null;
        return true;
    }

    private static bool IsToken68Char(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '+' or '/' or '=';

    /// <summary>401: RFC 6750 §3 <c>WWW-Authenticate: Bearer</c>, with <c>error="invalid_token"</c> when a token was refused.</summary>
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        string detail;
        if (result.Failure is { } failure)
        {
            detail = failure.Message;
            Response.Headers.WWWAuthenticate = $"Bearer error=\"invalid_token\", error_description=\"{OAuthError.Sanitise(detail)}\"";
        }
        else
        {
            detail = "An access token is required (Authorization: Bearer).";
            Response.Headers.WWWAuthenticate = "Bearer";
        }

        await WriteProblemAsync(StatusCodes.Status401Unauthorized, InvalidTokenProblemType, "Unauthorized", detail);
    }

    /// <summary>403: RFC 6750 §3.1 <c>error="insufficient_scope"</c> naming the scope the endpoint needs.</summary>
    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        var scope = Context.Items.TryGetValue(MissingScopeItem, out var missing) ? missing as string : null;
        Response.Headers.WWWAuthenticate = scope is null
            ? "Bearer error=\"insufficient_scope\""
            : $"Bearer error=\"insufficient_scope\", scope=\"{scope}\"";
        var detail = scope is null ? "The access token does not allow this request." : $"The access token lacks the scope '{scope}'.";
        await WriteProblemAsync(StatusCodes.Status403Forbidden, InsufficientScopeProblemType, "Forbidden", detail);
    }

    private Task WriteProblemAsync(int status, string type, string title, string detail)
    {
        Response.Headers.CacheControl = "no-store";
        return TypedResults.Problem(detail: detail, statusCode: status, title: title, type: type).ExecuteAsync(Context);
    }

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
            http.Items[BearerAuthenticationHandler.MissingScopeItem] = requirement.Scope;
        }

        return Task.CompletedTask;
    }
}
