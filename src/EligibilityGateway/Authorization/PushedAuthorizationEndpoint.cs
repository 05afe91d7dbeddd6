using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text.Json;
using EligibilityGateway.Consents;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;

namespace EligibilityGateway.Authorization;

/// <summary>
/// <c>POST /connect/par</c> (RFC 9126). Every authorization request starts here (README.md): read the form →
/// authenticate the client as at the token endpoint (RFC 9126 §2) → the client is a council → framework in force →
/// check the authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9396 §2) → store it → answer
/// <c>201 {request_uri, expires_in}</c> (RFC 9126 §2.2). The first refusal is the answer (RFC 9126 §2.3).
/// </summary>
internal sealed class PushedAuthorizationEndpoint(
    ClientAuthenticator clientAuthenticator,
    TrustFrameworkMonitor monitor,
    ConsentService consents,
    IPendingAuthorizationStore store,
    IOptions<AuthorizationServerOptions> options,
    TimeProvider timeProvider,
    ILogger<PushedAuthorizationEndpoint> logger)
{
    /// <summary>RFC 9126 §2.2: the <c>request_uri</c> prefix.</summary>
    public const string RequestUriPrefix = "urn:ietf:params:oauth:request_uri:";

    /// <summary>RFC 9126 §2.2 suggests a short life; we allow at most 600 seconds (<c>Authorization:PushedRequestLifetime</c>).</summary>
    private readonly TimeSpan requestLifetime = options.Value.PushedRequestLifetime;

    /// <summary>RFC 7636 §4.2: the only method accepted.</summary>
    public const string S256 = "S256";

    /// <summary>OpenID Connect's scope, allowed beside <see cref="GatewayScopes.EligibilityCheck"/> (userinfo gives <c>sub</c> only).</summary>
    public const string OpenIdScope = "openid";

    public async Task HandleAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var (request, readError) = await TokenRequest.ReadAsync(context.Request, cancellationToken);
        if (request is null)
        {
            await OAuthResponses.WriteErrorAsync(context, readError!, logger, clientId: null);
            return;
        }

        var framework = monitor.Current;
        var authentication = await clientAuthenticator.AuthenticateAsync(request, framework, cancellationToken);
        if (authentication.Client is not { } client)
        {
            await OAuthResponses.WriteErrorAsync(context, authentication.Error!, logger, clientId: null);
            return;
        }

        if (!framework.Definition.IsEffectiveAt(timeProvider.GetUtcNow()))
        {
            await OAuthResponses.WriteErrorAsync(context, OAuthError.UnauthorizedClient("The trust framework in force is outside its effective dates."), logger, client.ClientId);
            return;
        }

        // Only councils act for citizens; an auditor has no redirect URI and no consents.
        if (!framework.TryGetCouncilByClientId(client.ClientId, out var council))
        {
            await OAuthResponses.WriteErrorAsync(context, OAuthError.UnauthorizedClient("Only a council may make an authorization request."), logger, client.ClientId);
            return;
        }

        var (pending, error) = await CheckRequestAsync(request, council, cancellationToken);
        if (pending is null)
        {
            await OAuthResponses.WriteErrorAsync(context, error!, logger, client.ClientId);
            return;
        }

        switch (await store.TryAddAsync(pending, cancellationToken))
        {
            case PendingAuthorizationAdd.Full:
                await OAuthResponses.WriteErrorAsync(context, OAuthError.TemporarilyUnavailable("Too many authorization requests are pending; try again shortly."), logger, client.ClientId);
                return;
            case PendingAuthorizationAdd.Unavailable:
                // Not "too many pending": the store failed (Redis unreachable or too slow), which operators must see as such.
                Log.PushedRequestNotStored(logger, client.ClientId, pending.ConsentId);
                await OAuthResponses.WriteErrorAsync(context, OAuthError.TemporarilyUnavailable("The authorization server could not store the request; try again."), logger, client.ClientId);
                return;
        }

        Log.AuthorizationRequestPushed(logger, client.ClientId, pending.ConsentId);
        var response = context.Response;
        response.StatusCode = StatusCodes.Status201Created;
        response.Headers.CacheControl = "no-store";
        response.Headers[HeaderNames.Pragma] = "no-cache";
        response.ContentType = "application/json";
        await JsonSerializer.SerializeAsync(response.Body, new PushedAuthorizationResponse(pending.RequestUri, (int)Math.Ceiling(requestLifetime.TotalSeconds)), AuthorizationJsonContext.Default.PushedAuthorizationResponse, cancellationToken);
    }

    private async Task<(PendingAuthorization? Pending, OAuthError? Error)> CheckRequestAsync(TokenRequest request, Council council, CancellationToken cancellationToken)
    {
        // RFC 9126 §2.1: "The request_uri authorization request parameter is one exception, and it MUST NOT be provided."
        if (request.Parameter(Parameters.RequestUri) is not null || request.Parameter("request") is not null)
        {
            return Fail(OAuthError.InvalidRequest("request_uri and request are not accepted at the pushed authorization request endpoint (RFC 9126 section 2.1)."));
        }

        // RFC 6749 §4.1.1: response_type=code is the only flow.
        if (request.Parameter(Parameters.ResponseType) is not "code")
        {
            return Fail(new OAuthError("unsupported_response_type", "response_type must be code (RFC 6749 section 4.1.1).", StatusCodes.Status400BadRequest));
        }

        // RFC 6749 §3.1.2.3 with exact matching (RFC 9700 §2.1): the string must be one the council registered.
        var redirect = request.Parameter(Parameters.RedirectUri);
        var registered = redirect is null ? null : council.RedirectUris.FirstOrDefault(u => string.Equals(u.OriginalString, redirect, StringComparison.Ordinal));
        if (registered is null)
        {
            return Fail(OAuthError.InvalidRequest("redirect_uri is required and must exactly match one the council registered (RFC 6749 section 3.1.2.3)."));
        }

        if (CheckScope(request.Parameter(Parameters.Scope), out var scopes) is { } scopeError)
        {
            return Fail(scopeError);
        }

        // RFC 7636 §4.3 and §4.2: PKCE is required here, S256 only; plain would put the verifier on the wire.
        var challenge = request.Parameter(Parameters.CodeChallenge);
        if (challenge is null)
        {
            return Fail(OAuthError.InvalidRequest("code_challenge is required (RFC 7636 section 4.3)."));
        }

        if (request.Parameter(Parameters.CodeChallengeMethod) is not S256)
        {
            return Fail(OAuthError.InvalidRequest("code_challenge_method must be S256 (RFC 7636 section 4.2); plain is refused."));
        }

        if (challenge.Length != 43 || !challenge.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return Fail(OAuthError.InvalidRequest("code_challenge must be the base64url SHA-256 of the verifier, 43 characters (RFC 7636 section 4.2)."));
        }

        var state = request.Parameter(Parameters.State);
        var nonce = request.Parameter(Parameters.Nonce);
        if ((state?.Length ?? 0) > 512 || (nonce?.Length ?? 0) > 512)
        {
            return Fail(OAuthError.InvalidRequest("state and nonce may be at most 512 characters."));
        }

        var (consentId, detailsError) = ReadAuthorizationDetails(request.Parameter(Parameters.AuthorizationDetails));
        if (consentId is null)
        {
            return Fail(detailsError!);
        }

        // The consent must be this council's, still waiting for the citizen. Another council's reads as unknown.
        var consent = await consents.FindAsync(consentId, cancellationToken);
        if (consent is null || !string.Equals(consent.CouncilId, council.Id, StringComparison.Ordinal))
        {
            return Fail(InvalidAuthorizationDetails("consent_id does not name a consent of this council."));
        }

        if (consent.StatusAt(timeProvider.GetUtcNow()) != ConsentStatus.AwaitingAuthorisation)
        {
            return Fail(InvalidAuthorizationDetails("The consent is not awaiting authorisation."));
        }

        var requestUri = RequestUriPrefix + Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var expires = timeProvider.GetUtcNow() + requestLifetime;
        return (new PendingAuthorization(requestUri, council.ClientId, council.Id, registered, scopes, state, challenge, nonce, consentId, expires), null);

        static (PendingAuthorization?, OAuthError?) Fail(OAuthError error) => (null, error);
    }

    /// <summary>RFC 6749 §3.3: <c>eligibility.check</c> is required and <c>openid</c> the only other scope.</summary>
    private static OAuthError? CheckScope(string? scope, out ImmutableArray<string> scopes)
    {
        scopes = [];
        var tokens = (scope ?? "").Split(' ');
        if (scope is null || tokens.Any(t => t is not GatewayScopes.EligibilityCheck and not OpenIdScope) || !tokens.Contains(GatewayScopes.EligibilityCheck))
        {
            return OAuthError.InvalidScope("scope must include eligibility.check and may add openid, nothing else.");
        }

        scopes = tokens.Contains(OpenIdScope) ? [OpenIdScope, GatewayScopes.EligibilityCheck] : [GatewayScopes.EligibilityCheck];
        return null;
    }

    /// <summary>RFC 9396 §2: a JSON array; here exactly one <c>eligibility-check</c> object with a <c>consent_id</c>.</summary>
    private static (string? ConsentId, OAuthError? Error) ReadAuthorizationDetails(string? value)
    {
        if (value is null)
        {
            return (null, InvalidAuthorizationDetails("authorization_details with one eligibility-check entry naming the consent is required."));
        }

        // RFC 8259 §8.2: a string escaping an unpaired surrogate is JSON text but not Unicode; FormJson refuses it here
        // rather than let a later read of that string fail the request with a 500.
        using var document = FormJson.Parse(value);
        if (document is null)
        {
            return (null, InvalidAuthorizationDetails($"authorization_details is not JSON nested at most {FormJson.MaxDepth} deep whose strings are all well-formed Unicode (RFC 9396 section 2, RFC 8259 section 8.2)."));
        }

        if (!ConsentAuthorizationDetails.TryRead(WrapAsPayload(document.RootElement), out var consentId) || consentId is null)
        {
            return (null, InvalidAuthorizationDetails("authorization_details must hold exactly one eligibility-check entry with a consent_id (RFC 9396 section 2)."));
        }

        return (consentId, null);
    }

    private static JsonElement WrapAsPayload(JsonElement details)
    {
        using var wrapper = JsonDocument.Parse($"{{\"{ConsentAuthorizationDetails.Claim}\":{details.GetRawText()}}}");
        return wrapper.RootElement.Clone();
    }

    /// <summary>RFC 9396 §5: <c>invalid_authorization_details</c>.</summary>
    private static OAuthError InvalidAuthorizationDetails(string description) => new(OAuthErrorCodes.InvalidAuthorizationDetails, description, StatusCodes.Status400BadRequest);

    /// <summary>The parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9396 §2, OIDC Core §3.1.2.1).</summary>
    public static class Parameters
    {
        public const string ResponseType = "response_type";
        public const string RedirectUri = "redirect_uri";
        public const string Scope = "scope";
        public const string State = "state";
        public const string CodeChallenge = "code_challenge";
        public const string CodeChallengeMethod = "code_challenge_method";
        public const string Nonce = "nonce";
        public const string AuthorizationDetails = "authorization_details";
        public const string RequestUri = "request_uri";
        public const string ClientId = "client_id";
    }
}

/// <summary>RFC 9126 §2.2 response.</summary>
internal sealed record PushedAuthorizationResponse(string RequestUri, int ExpiresIn);

/// <summary>RFC 6749 §5.2 error responses for the endpoints beside the token endpoint.</summary>
internal static class OAuthResponses
{
    public static async Task WriteErrorAsync(HttpContext context, OAuthError error, ILogger logger, string? clientId)
    {
        Log.AuthorizationRequestRefused(logger, error.Error, clientId ?? "(unauthenticated)", error.Description);
        var response = context.Response;
        response.StatusCode = error.StatusCode;
        response.Headers.CacheControl = "no-store";
        response.Headers[HeaderNames.Pragma] = "no-cache";
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
}
