using System.Collections.Immutable;
using System.Text.Json;
using EligibilityGateway.TrustFramework;
using Microsoft.Net.Http.Headers;

namespace EligibilityGateway.Authorization;

/// <summary>
/// <c>POST /connect/token</c> (RFC 6749 §3.2). One request runs these steps in order; the first refusal is the
/// answer: read the form → check the grant type → authenticate the client → check the framework is in force →
/// resolve the scope → issue → record → respond.
/// </summary>
internal sealed class TokenEndpoint(
    ClientAuthenticator clientAuthenticator,
    AccessTokenIssuer issuer,
    AuthorizationCodeExchange codeExchange,
    RefreshTokenExchange refreshExchange,
    ConsentTokenRegistry consentTokens,
    TrustFrameworkMonitor monitor,
    IEnumerable<IAccessTokenIssuanceRecorder> recorders,
    TimeProvider timeProvider,
    ILogger<TokenEndpoint> logger)
{
    /// <summary>RFC 6749 §4.4: the only grant offered so far.</summary>
    public const string ClientCredentialsGrant = "client_credentials";

    /// <summary>The grants this endpoint serves, as the discovery document lists them.</summary>
    public static ImmutableArray<string> SupportedGrantTypes { get; } = [AuthorizationCodeExchange.Grant, RefreshTokenExchange.Grant, ClientCredentialsGrant];

    private readonly IAccessTokenIssuanceRecorder[] recorders = recorders.ToArray();

    public async Task HandleAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var (request, readError) = await TokenRequest.ReadAsync(context.Request, cancellationToken);
        if (request is null)
        {
            await WriteErrorAsync(context, readError!, ClientAuthenticator.NoMethod, clientId: null);
            return;
        }

        if (CheckGrantType(request) is { } grantError)
        {
            await WriteErrorAsync(context, grantError, ClientAuthenticator.NoMethod, clientId: null);
            return;
        }

        var framework = monitor.Current;
        var authentication = await clientAuthenticator.AuthenticateAsync(request, framework, cancellationToken);
        if (authentication.Client is not { } client)
        {
            await WriteErrorAsync(context, authentication.Error!, authentication.Method, clientId: null);
            return;
        }

        if (CheckFrameworkInForce(framework) is { } notInForce)
        {
            await WriteErrorAsync(context, notInForce, authentication.Method, client.ClientId);
            return;
        }

        if (request.GrantType == AuthorizationCodeExchange.Grant)
        {
            await ExchangeCodeAsync(context, request, client, authentication.Method);
            return;
        }

        if (request.GrantType == RefreshTokenExchange.Grant)
        {
            await RefreshAsync(context, request, client, authentication.Method);
            return;
        }

        if (ResolveScopes(request.Scope, client.Kind, out var scopes) is { } scopeError)
        {
            await WriteErrorAsync(context, scopeError, authentication.Method, client.ClientId);
            return;
        }

        var issued = issuer.IssueForClient(client, ClientCredentialsGrant, authentication.Method, scopes);
        if (!await TryRecordAsync(issued, cancellationToken))
        {
            await WriteErrorAsync(context, OAuthError.TemporarilyUnavailable("The token could not be recorded in the audit trail; no token was issued."), authentication.Method, client.ClientId);
            return;
        }

        Log.TokenIssued(logger, issued.TokenId, issued.ClientId, issued.Scope, issued.ExpiresAt);
        await WriteTokenAsync(context, issued);
    }

    /// <summary>RFC 6749 §4.1.3: an authorization code for a consent-bound token (<see cref="AuthorizationCodeExchange"/>).</summary>
    private async Task ExchangeCodeAsync(HttpContext context, TokenRequest request, OAuthClient client, string method)
    {
        var (grant, consent, error) = await codeExchange.RedeemAsync(request, client, context.RequestAborted);
        if (grant is null)
        {
            await WriteErrorAsync(context, error!, method, client.ClientId);
            return;
        }

        // Every token the code leads to is of one family, so that a replay of the code revokes them all.
        var familyId = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        await codeExchange.RecordIssuedAsync(request, familyId, context.RequestAborted);
        await IssueConsentBoundAsync(context, client, method, AuthorizationCodeExchange.Grant, grant.Scopes, grant.Scopes, grant.Subject, consent!, familyId, grant);
    }

    /// <summary>RFC 6749 §6: a refresh token for a new access token and a new refresh token (<see cref="RefreshTokenExchange"/>).</summary>
    private async Task RefreshAsync(HttpContext context, TokenRequest request, OAuthClient client, string method)
    {
        var (record, scopes, consent, error) = await refreshExchange.RedeemAsync(request, client, context.RequestAborted);
        if (record is null)
        {
            await WriteErrorAsync(context, error!, method, client.ClientId);
            return;
        }

        await IssueConsentBoundAsync(context, client, method, RefreshTokenExchange.Grant, scopes, record.Scopes, record.Subject, consent!, record.FamilyId);
    }

    /// <summary>
    /// Issues an access token bound to the consent, records it, and a refresh token of the same family that keeps the
    /// original grant's scopes and lives until the consent expires. A code exchange whose grant includes <c>openid</c>
    /// also gets an ID token (OpenID Connect Core §3.1.3.3); a refresh does not (§12.2 makes it optional).
    /// </summary>
    private async Task IssueConsentBoundAsync(HttpContext context, OAuthClient client, string method, string grantType, ImmutableArray<string> scopes, ImmutableArray<string> refreshScopes, string subject, Consents.Consent consent, string familyId, AuthorizationCodeGrant? code = null)
    {
        var issued = issuer.IssueForConsent(client, grantType, method, scopes, subject, consent.ConsentId);
        if (!await TryRecordAsync(issued, context.RequestAborted))
        {
            await WriteErrorAsync(context, OAuthError.TemporarilyUnavailable("The token could not be recorded in the audit trail; no token was issued."), method, client.ClientId);
            return;
        }

        consentTokens.TrackAccessToken(consent.ConsentId, familyId, issued.TokenId, issued.ExpiresAt);
        var refreshToken = consentTokens.IssueRefreshToken(new RefreshTokenRecord(client.ClientId, consent.ConsentId, subject, refreshScopes, familyId, timeProvider.GetUtcNow(), consent.ExpiresAt));
        Log.TokenIssued(logger, issued.TokenId, issued.ClientId, issued.Scope, issued.ExpiresAt);
        var idToken = code is not null && scopes.Contains(PushedAuthorizationEndpoint.OpenIdScope) ? issuer.IssueIdToken(client.ClientId, subject, code.Nonce, issued) : null;
        await WriteTokenAsync(context, issued, [new EligibilityCheckDetail(ConsentAuthorizationDetails.Type, consent.ConsentId)], refreshToken, idToken);
    }

    /// <summary>RFC 6749 §4.4.2: <c>grant_type</c> is required; RFC 6749 §5.2 <c>unsupported_grant_type</c> for any other than client_credentials.</summary>
    private static OAuthError? CheckGrantType(TokenRequest request) => request.GrantType switch
    {
        null => OAuthError.InvalidRequest("grant_type is required (RFC 6749 section 4.4.2)."),
        ClientCredentialsGrant or AuthorizationCodeExchange.Grant or RefreshTokenExchange.Grant => null,
        _ => OAuthError.UnsupportedGrantType("Only the client_credentials, authorization_code and refresh_token grants are supported."),
    };

    /// <summary>
    /// A framework is in force only within its effective dates. Outside them its clients are known and
    /// authenticated but may not obtain tokens: RFC 6749 §5.2 <c>unauthorized_client</c>.
    /// </summary>
    private OAuthError? CheckFrameworkInForce(TrustFrameworkSnapshot framework) =>
        framework.Definition.IsEffectiveAt(timeProvider.GetUtcNow())
            ? null
            : OAuthError.UnauthorizedClient("The trust framework in force is outside its effective dates; no tokens are issued under it.");

    /// <summary>
    /// RFC 6749 §3.3: space-delimited, case-sensitive scope tokens (NQCHAR). Omitted → the client kind's documented
    /// default; any unknown token, or one the client kind may not hold (a council asking for <c>audit.read</c>, an
    /// auditor for <c>eligibility.check</c>) → <c>invalid_scope</c>. Nothing is silently dropped.
    /// </summary>
    private static OAuthError? ResolveScopes(string? requested, ClientKind kind, out ImmutableArray<string> scopes)
    {
        scopes = GatewayScopes.DefaultFor(kind);
        if (requested is null)
        {
            return null;
        }

        var allowed = GatewayScopes.AllowedFor(kind);
        var granted = ImmutableArray.CreateBuilder<string>();
        foreach (var token in requested.Split(' '))
        {
            if (token.Length == 0 || token.Any(c => c is < '!' or > '~' or '"' or '\\'))
            {
                return OAuthError.InvalidScope("scope must be scope tokens separated by single spaces (RFC 6749 section 3.3).");
            }

            if (!GatewayScopes.Supported.Contains(token))
            {
                return OAuthError.InvalidScope($"Unknown scope '{TokenRequest.Printable(token)}'.");
            }

            if (!allowed.Contains(token))
            {
                return OAuthError.InvalidScope($"This client may not hold the scope '{token}'.");
            }

            if (!granted.Contains(token))
            {
                granted.Add(token);
            }
        }

        // Listed in the canonical order, so equal requests give equal scope strings.
        scopes = [.. GatewayScopes.Supported.Where(granted.Contains)];
        return null;
    }

    private async ValueTask<bool> TryRecordAsync(IssuedAccessToken issued, CancellationToken cancellationToken)
    {
        foreach (var recorder in recorders)
        {
            try
            {
                await recorder.RecordAsync(issued, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.IssuanceRecordFailed(logger, issued.TokenId, issued.ClientId, ex);
                return false;
            }
        }

        return true;
    }

    /// <summary>RFC 6749 §5.1: JSON, <c>Cache-Control: no-store</c>, <c>Pragma: no-cache</c>.</summary>
    private async Task WriteTokenAsync(HttpContext context, IssuedAccessToken issued, IReadOnlyList<EligibilityCheckDetail>? authorizationDetails = null, string? refreshToken = null, string? idToken = null)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        SetNoStore(response);
        response.ContentType = "application/json";
        var body = new TokenResponse(issued.Token, "Bearer", (int)issuer.Lifetime.TotalSeconds, issued.Scope, authorizationDetails, refreshToken, idToken);
        await JsonSerializer.SerializeAsync(response.Body, body, AuthorizationJsonContext.Default.TokenResponse, context.RequestAborted);
    }

    /// <summary>
    /// RFC 6749 §5.2: JSON <c>{error, error_description}</c>, not cached. <c>invalid_client</c> is 401, with
    /// <c>WWW-Authenticate: Basic</c> when the client used the Authorization header (or, in a sandbox, used nothing).
    /// </summary>
    private async Task WriteErrorAsync(HttpContext context, OAuthError error, string method, string? clientId)
    {
        Log.TokenRequestRefused(logger, error.Error, method, clientId ?? "(unauthenticated)", error.Description);
        var response = context.Response;
        response.StatusCode = error.StatusCode;
        SetNoStore(response);
        if (error.BasicChallenge)
        {
            response.Headers.WWWAuthenticate = "Basic realm=\"eligibility-gateway\", charset=\"UTF-8\"";
        }

        if (error.StatusCode == StatusCodes.Status405MethodNotAllowed)
        {
            response.Headers.Allow = HttpMethods.Post;
        }

        if (error.RetryAfterSeconds is { } retryAfter)
        {
            response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(response.Body, new OAuthErrorResponse(error.Error, OAuthError.Sanitise(error.Description)), AuthorizationJsonContext.Default.OAuthErrorResponse, context.RequestAborted);
    }

    private static void SetNoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers[HeaderNames.Pragma] = "no-cache";
    }
}
