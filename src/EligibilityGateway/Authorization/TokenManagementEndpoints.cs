using System.Text.Json;
using EligibilityGateway.Consents;
using EligibilityGateway.TrustFramework;
using Microsoft.Net.Http.Headers;

namespace EligibilityGateway.Authorization;

/// <summary>
/// Introspection (RFC 7662), revocation (RFC 7009) and userinfo (OIDC Core §5.3) for the tokens of the
/// authorization-code flow. End-session (OIDC RP-Initiated Logout 1.0) is a page: <c>Pages/EndSession.cshtml</c>.
/// </summary>
internal sealed class TokenManagementEndpoints(
    ClientAuthenticator clientAuthenticator,
    TrustFrameworkMonitor monitor,
    AccessTokenReader validator,
    ConsentTokenRegistry registry,
    RevokedAccessTokens revokedAccessTokens,
    ConsentService consents,
    TimeProvider timeProvider,
    ILogger<TokenManagementEndpoints> logger)
{
    /// <summary>
    /// <c>POST /connect/introspect</c> (RFC 7662 §2): client-authenticated; a council learns about its own tokens
    /// only (another's is <c>{"active":false}</c>, §2.2). A token is inactive once revoked, expired, or its consent is
    /// no longer authorised.
    /// </summary>
    public async Task IntrospectAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context) is not { } authenticated)
        {
            return;
        }

        var (client, token) = authenticated;
        var response = await ActiveAsync(token, client.ClientId, context.RequestAborted) ?? new IntrospectionResponse(false);
        SetNoStore(context.Response);
        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, response, AuthorizationJsonContext.Default.IntrospectionResponse, context.RequestAborted);
    }

    /// <summary>
    /// <c>POST /connect/revoke</c> (RFC 7009 §2): client-authenticated; revokes a refresh token (with its family and
    /// their access tokens, §2.1) or an access token (by <c>jti</c>). Always 200, for unknown or another client's tokens
    /// too (§2.2). The consent stays as it is: revoking a token is not withdrawing consent (README.md, "Revocation").
    /// </summary>
    public async Task RevokeAsync(HttpContext context)
    {
        if (await AuthenticateAsync(context) is not { } authenticated)
        {
            return;
        }

        var (client, token) = authenticated;
        if (!registry.TryRevokeRefreshToken(token, client.ClientId)
            && (await validator.ValidateAsync(token)).Token is { } access && string.Equals(access.ClientId, client.ClientId, StringComparison.Ordinal))
        {
            revokedAccessTokens.Revoke(access.TokenId);
        }

        SetNoStore(context.Response);
        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    /// <summary>
    /// <c>GET /connect/userinfo</c> (OIDC Core §5.3): a consent-bound access token with <c>openid</c>, whose consent is
    /// authorised, gets <c>{"sub": …}</c> — the pairwise identifier, and no personal data.
    /// </summary>
    public async Task UserInfoAsync(HttpContext context)
    {
        SetNoStore(context.Response);
        var header = context.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : null;
        var validated = token is null ? null : (await validator.ValidateAsync(token)).Token;
        if (validated is null || validated.ConsentId is null || revokedAccessTokens.IsInactive(validated.TokenId) || !await IsAuthorisedAsync(validated.ConsentId, context.RequestAborted))
        {
            // RFC 6750 §3.1.
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = token is null ? "Bearer" : "Bearer error=\"invalid_token\"";
            return;
        }

        if (!validated.Scopes.Contains(PushedAuthorizationEndpoint.OpenIdScope))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.Headers.WWWAuthenticate = "Bearer error=\"insufficient_scope\", scope=\"openid\"";
            return;
        }

        context.Response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(context.Response.Body, new UserInfoResponse(validated.Subject), AuthorizationJsonContext.Default.UserInfoResponse, context.RequestAborted);
    }

    private async Task<IntrospectionResponse?> ActiveAsync(string token, string clientId, CancellationToken cancellationToken)
    {
        if (registry.FindActiveRefreshToken(token, clientId) is { } refresh)
        {
            return await IsAuthorisedAsync(refresh.ConsentId, cancellationToken)
                ? new IntrospectionResponse(true, string.Join(' ', refresh.Scopes), refresh.ClientId, refresh.ExpiresAt.ToUnixTimeSeconds(), refresh.IssuedAt.ToUnixTimeSeconds(), refresh.Subject, "refresh_token", Details(refresh.ConsentId))
                : null;
        }

        // The validator refuses revoked, expired and forged tokens; a client-credentials token has no consent to check.
        if ((await validator.ValidateAsync(token)).Token is not { } access || !string.Equals(access.ClientId, clientId, StringComparison.Ordinal)
            || revokedAccessTokens.IsInactive(access.TokenId)
            || (access.ConsentId is not null && !await IsAuthorisedAsync(access.ConsentId, cancellationToken)))
        {
            return null;
        }

        return new IntrospectionResponse(true, string.Join(' ', access.Scopes), access.ClientId, access.ExpiresAt.ToUnixTimeSeconds(), access.NotBefore?.ToUnixTimeSeconds(), access.Subject, "Bearer",
            access.ConsentId is null ? null : Details(access.ConsentId));
    }

    private async Task<bool> IsAuthorisedAsync(string consentId, CancellationToken cancellationToken) =>
        await consents.FindAsync(consentId, cancellationToken) is { } consent && consent.StatusAt(timeProvider.GetUtcNow()) == ConsentStatus.Authorised;

    private static EligibilityCheckDetail[] Details(string consentId) => [new(ConsentAuthorizationDetails.Type, consentId)];

    /// <summary>Reads the form, authenticates the client as at the token endpoint and requires <c>token</c>; answers the refusal itself.</summary>
    private async Task<(OAuthClient Client, string Token)?> AuthenticateAsync(HttpContext context)
    {
        var (request, readError) = await TokenRequest.ReadAsync(context.Request, context.RequestAborted);
        if (request is null)
        {
            await OAuthResponses.WriteErrorAsync(context, readError!, logger, clientId: null);
            return null;
        }

        var authentication = await clientAuthenticator.AuthenticateAsync(request, monitor.Current, context.RequestAborted);
        if (authentication.Client is not { } client)
        {
            await OAuthResponses.WriteErrorAsync(context, authentication.Error!, logger, clientId: null);
            return null;
        }

        if (request.Parameter("token") is not { } token)
        {
            await OAuthResponses.WriteErrorAsync(context, OAuthError.InvalidRequest("token is required (RFC 7662 section 2.1, RFC 7009 section 2.1)."), logger, client.ClientId);
            return null;
        }

        return (client, token);
    }

    private static void SetNoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers[HeaderNames.Pragma] = "no-cache";
    }
}

/// <summary>RFC 7662 §2.2; only <c>active</c> when inactive.</summary>
internal sealed record IntrospectionResponse(
    bool Active,
    string? Scope = null,
    string? ClientId = null,
    long? Exp = null,
    long? Iat = null,
    string? Sub = null,
    string? TokenType = null,
    IReadOnlyList<EligibilityCheckDetail>? AuthorizationDetails = null);

/// <summary>OIDC Core §5.3.2: the subject only.</summary>
internal sealed record UserInfoResponse(string Sub);
