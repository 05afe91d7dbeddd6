using System.Collections.Immutable;
using System.Text.Json;
using EligibilityGateway.Consents;
using EligibilityGateway.TrustFramework;
using Microsoft.AspNetCore.WebUtilities;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using Microsoft.AspNetCore;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace EligibilityGateway.Authorization.Server;

/// <summary>
/// The rest of the gateway's rules as OpenIddict handlers: the issuer from configuration (never the Host header),
/// parameters sent once, authorization requests only through PAR and only for this council's consent, the consent
/// page's 303 continuation, discovery as documented, and consent-aware introspection, revocation and userinfo.
/// </summary>
internal static class FlowHandlers
{
    public static ImmutableArray<OpenIddictServerHandlerDescriptor> Descriptors { get; } =
    [
        UseConfiguredIssuer.Descriptor,
        AuthorizeOnlyWithPushedRequest.Descriptor,
        ValidatePushedRequest.Descriptor,
        ContinueAfterDecision.Descriptor,
        DescribeServer.Descriptor,
        CacheDiscovery.Descriptor,
        IntrospectConsent.Descriptor,
        RevokeWithoutEntry.Descriptor,
        RevokeRefreshFamily.Descriptor,
        UserInfoForConsent.Descriptor,
        LogRefusals.Descriptor,
    ];

    /// <summary>
    /// Every absolute URL OpenIddict builds — the issuer, the endpoints in the metadata, the audiences it accepts — is
    /// made from the configured (or once-derived) issuer, never from the request's Host header, which any caller
    /// chooses (host-header injection; README.md, "Issuer").
    /// </summary>
    internal sealed class UseConfiguredIssuer(GatewayIssuer issuer) : IOpenIddictServerHandler<ProcessRequestContext>
    {
        // After the endpoint is known (matching compares paths only), so that the API's own requests, which OpenIddict
        // looks at and lets pass, pay nothing for it.
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessRequestContext>()
            .UseSingletonHandler<UseConfiguredIssuer>()
            .SetOrder(OpenIddictServerHandlers.InferEndpointType.Descriptor.Order + 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ProcessRequestContext context)
        {
            if (context.EndpointType == OpenIddictServerEndpointType.Unknown)
            {
                return ValueTask.CompletedTask;
            }

            var baseUri = new Uri(issuer.Value + "/");
            var request = context.Transaction.GetHttpRequest()!;
            context.BaseUri = baseUri;
            context.RequestUri = new Uri(baseUri, request.Path.Value!.TrimStart('/') + request.QueryString.Value);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// RFC 9126 §4: at <c>/connect/authorize</c> only <c>client_id</c> and <c>request_uri</c> (and, on the consent form's
    /// POST, its <c>decision</c> and antiforgery token); everything else was pushed. Refused before the pushed request is
    /// read, so the answer is the error page, never a redirect: a redirect URI is trusted only from PAR.
    /// </summary>
    internal sealed class AuthorizeOnlyWithPushedRequest : IOpenIddictServerHandler<ExtractAuthorizationRequestContext>
    {
        public static readonly ImmutableHashSet<string> FormFields = ["decision", "__RequestVerificationToken"];

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ExtractAuthorizationRequestContext>()
            .UseSingletonHandler<AuthorizeOnlyWithPushedRequest>()
            .SetOrder(int.MaxValue - 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ExtractAuthorizationRequestContext context)
        {
            var names = context.Request!.GetParameters().Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
            names.ExceptWith(FormFields);
            if (!names.SetEquals([Parameters.ClientId, Parameters.RequestUri]))
            {
                context.Reject(Errors.InvalidRequest, "Only client_id and request_uri may be sent to the authorization endpoint; push the request first (RFC 9126 section 4).");
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// What PAR accepts beyond OpenIddict's own checks (README.md, "POST /connect/par"): a council only; scope
    /// <c>eligibility.check</c>, optionally with <c>openid</c>; a 43-character S256 challenge; <c>state</c> and
    /// <c>nonce</c> of at most 512 characters; and RFC 9396 <c>authorization_details</c> with exactly one
    /// <c>eligibility-check</c> entry naming a consent of this council that awaits authorisation.
    /// </summary>
    internal sealed class ValidatePushedRequest(TrustFrameworkMonitor monitor, ConsentService consents, TimeProvider timeProvider, ILogger<ValidatePushedRequest> logger)
        : IOpenIddictServerHandler<ValidatePushedAuthorizationRequestContext>
    {
        public const string OpenIdScope = Scopes.OpenId;

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidatePushedAuthorizationRequestContext>()
            .UseSingletonHandler<ValidatePushedRequest>()
            .SetOrder(int.MaxValue - 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ValidatePushedAuthorizationRequestContext context)
        {
            var request = context.Request;
            if (context.ClientId is not { } clientId || !monitor.Current.TryGetCouncilByClientId(clientId, out var council))
            {
                context.Reject(Errors.UnauthorizedClient, "Only a council may make an authorization request.");
                return;
            }

            var scopes = request.GetScopes();
            if (!scopes.Contains(GatewayScopes.EligibilityCheck) || scopes.Any(s => s is not (GatewayScopes.EligibilityCheck or OpenIdScope)))
            {
                context.Reject(Errors.InvalidScope, "scope must include eligibility.check and may add openid, nothing else.");
                return;
            }

            if (request.CodeChallenge is not { Length: 43 } challenge || !challenge.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                context.Reject(Errors.InvalidRequest, "code_challenge must be the base64url SHA-256 of the verifier, 43 characters (RFC 7636 section 4.2).");
                return;
            }

            if ((request.State?.Length ?? 0) > 512 || (request.Nonce?.Length ?? 0) > 512)
            {
                context.Reject(Errors.InvalidRequest, "state and nonce may be at most 512 characters.");
                return;
            }

            var (consentId, error) = ReadAuthorizationDetails((string?)request[ConsentAuthorizationDetails.Claim]);
            if (consentId is null)
            {
                context.Reject(OAuthErrorCodes.InvalidAuthorizationDetails, error);
                return;
            }

            // The consent must be this council's, still waiting for the citizen. Another council's reads as unknown.
            var consent = await consents.FindAsync(consentId, context.CancellationToken);
            if (consent is null || !string.Equals(consent.CouncilId, council.Id, StringComparison.Ordinal))
            {
                context.Reject(OAuthErrorCodes.InvalidAuthorizationDetails, "consent_id does not name a consent of this council.");
                return;
            }

            if (consent.StatusAt(timeProvider.GetUtcNow()) != ConsentStatus.AwaitingAuthorisation)
            {
                context.Reject(OAuthErrorCodes.InvalidAuthorizationDetails, "The consent is not awaiting authorisation.");
                return;
            }

            Log.AuthorizationRequestPushed(logger, clientId, consentId);
        }

        /// <summary>RFC 9396 §2: a JSON array; here exactly one <c>eligibility-check</c> object with a <c>consent_id</c>.</summary>
        internal static (string? ConsentId, string Error) ReadAuthorizationDetails(string? value)
        {
            if (value is null)
            {
                return (null, "authorization_details with one eligibility-check entry naming the consent is required.");
            }

            // RFC 8259 §8.2: a string escaping an unpaired surrogate is JSON text but not Unicode; FormJson refuses it
            // here rather than let a later read of that string fail the request with a 500.
            using var document = FormJson.Parse(value);
            if (document is null)
            {
                return (null, $"authorization_details is not JSON nested at most {FormJson.MaxDepth} deep whose strings are all well-formed Unicode (RFC 9396 section 2, RFC 8259 section 8.2).");
            }

            using var wrapper = JsonDocument.Parse($"{{\"{ConsentAuthorizationDetails.Claim}\":{document.RootElement.GetRawText()}}}");
            return ConsentAuthorizationDetails.TryRead(wrapper.RootElement, out var consentId) && consentId is not null
                ? (consentId, "")
                : (null, "authorization_details must hold exactly one eligibility-check entry with a consent_id (RFC 9396 section 2).");
        }
    }

    /// <summary>
    /// The consent page's CSP has <c>form-action 'self'</c>, which browsers apply to the redirects after a form post,
    /// so the answer to Allow or Deny cannot be a 302 to the council. It is kept for the citizen who decided and the
    /// browser is sent, with a 303, to <c>/connect/authorize/continue</c> on this origin, which redirects once
    /// (Pages/ConsentContinue). A GET that ends in a response (nothing here does today) redirects as usual.
    /// </summary>
    internal sealed class ContinueAfterDecision(IAuthorizationDecisionStore decisions, TimeProvider timeProvider) : IOpenIddictServerHandler<ApplyAuthorizationResponseContext>
    {
        /// <summary>The <see cref="HttpContext.Items"/> key under which the consent page names the citizen who decided.</summary>
        public const string DeciderItem = "EligibilityGateway.Authorization.Decider";

        /// <summary>A decision waits this long for the browser to follow the 303.</summary>
        public static readonly TimeSpan DecisionLifetime = TimeSpan.FromMinutes(2);

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyAuthorizationResponseContext>()
            .UseSingletonHandler<ContinueAfterDecision>()
            .SetOrder(OpenIddictServerAspNetCoreHandlers.Authentication.ProcessSelfRedirection.Descriptor.Order - 1000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ApplyAuthorizationResponseContext context)
        {
            var request = context.Transaction.GetHttpRequest()!;
            if (string.IsNullOrEmpty(context.RedirectUri) || !HttpMethods.IsPost(request.Method) || context.Request?.RequestUri is not { } requestUri
                || request.HttpContext.Items[DeciderItem] is not string decider)
            {
                return;
            }

            var parameters = context.Response.GetParameters()
                .Select(p => new KeyValuePair<string, string?>(p.Key, (string?)p.Value))
                .Where(p => p.Value is not null);
            var location = new Uri(QueryHelpers.AddQueryString(context.RedirectUri, parameters));
            await decisions.AddDecisionAsync(requestUri, new AuthorizationDecision(location, decider, timeProvider.GetUtcNow() + DecisionLifetime), context.CancellationToken);

            // RFC 9110 §15.4.4: 303 makes the browser GET the next address, which is ours, so form-action 'self' holds.
            var response = request.HttpContext.Response;
            response.StatusCode = StatusCodes.Status303SeeOther;
            response.Headers.Location = QueryHelpers.AddQueryString(AuthorizationServerPaths.AuthorizeContinue, Parameters.RequestUri, requestUri);
            response.Headers.CacheControl = "no-store";
            context.HandleRequest();
        }
    }

    /// <summary>
    /// The discovery document lists what works and nothing else (README.md, "Endpoints"): pairwise subjects, ES256 ID
    /// tokens, ES256/PS256 assertions, <c>client_secret_basic</c> only while a sandbox framework is in force, the
    /// <c>eligibility-check</c> authorization-details type, the gateway's JWKS and end-session page. Written over
    /// OpenIddict's document as it leaves, so that nothing the library adds by default is published unchecked.
    /// </summary>
    internal sealed class DescribeServer(TrustFrameworkMonitor monitor, GatewayIssuer issuer) : IOpenIddictServerHandler<ApplyConfigurationResponseContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyConfigurationResponseContext>()
            .UseSingletonHandler<DescribeServer>()
            .SetOrder(int.MinValue + 1000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ApplyConfigurationResponseContext context)
        {
            if (!string.IsNullOrEmpty(context.Error))
            {
                return ValueTask.CompletedTask;
            }

            var response = context.Response;
            string[] methods = monitor.Current.Definition.Sandbox
                ? [ClientAuthentication.PrivateKeyJwtMethod, ClientAuthentication.ClientSecretBasicMethod]
                : [ClientAuthentication.PrivateKeyJwtMethod];
            response[Metadata.JwksUri] = issuer.JwksUri;
            response[Metadata.EndSessionEndpoint] = issuer.Value + AuthorizationServerPaths.EndSession;
            response[Metadata.RequirePushedAuthorizationRequests] = true;
            response[Metadata.TokenEndpointAuthMethodsSupported] = Strings(methods);
            response[Metadata.PushedAuthorizationRequestEndpointAuthMethodsSupported] = Strings(methods);
            response[Metadata.IntrospectionEndpointAuthMethodsSupported] = Strings(methods);
            response[Metadata.RevocationEndpointAuthMethodsSupported] = Strings(methods);
            response[Metadata.SubjectTypesSupported] = Strings(SubjectTypes.Pairwise);
            response[Metadata.GrantTypesSupported] = Strings(GrantTypes.AuthorizationCode, GrantTypes.RefreshToken, GrantTypes.ClientCredentials);
            response[Metadata.IdTokenSigningAlgValuesSupported] = Strings("ES256");
            response[Metadata.ScopesSupported] = Strings([Scopes.OpenId, .. GatewayScopes.Supported]);
            response["token_endpoint_auth_signing_alg_values_supported"] = Strings([.. ClientAuthenticationHandlers.CheckAssertionShape.Algorithms]);
            response["authorization_details_types_supported"] = Strings(ConsentAuthorizationDetails.Type);
            // Nothing here reads prompt or the claims parameter, and no claim beyond sub is ever released; members whose
            // absence means false (OpenID Connect Discovery 1.0 §3, RFC 8705 §3.3) are left out. request_uri_parameter_supported
            // stays: its absence would mean true, and request objects by reference (JAR) are not taken.
            response.RemoveParameter(Metadata.ClaimsSupported);
            response.RemoveParameter(Metadata.PromptValuesSupported);
            response.RemoveParameter(Metadata.ClaimsParameterSupported);
            response.RemoveParameter(Metadata.RequestParameterSupported);
            response.RemoveParameter(Metadata.TlsClientCertificateBoundAccessTokens);
            return ValueTask.CompletedTask;
        }

        private static OpenIddictParameter Strings(params string?[] values) => new([.. values]);
    }

    /// <summary>The metadata changes only with a deployment or a framework reload: caches may keep it a minute.</summary>
    internal sealed class CacheDiscovery : IOpenIddictServerHandler<ApplyConfigurationResponseContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyConfigurationResponseContext>()
            .UseSingletonHandler<CacheDiscovery>()
            .SetOrder(OpenIddictServerAspNetCoreHandlers.AttachCacheControlHeader<ApplyConfigurationResponseContext>.Descriptor.Order + 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ApplyConfigurationResponseContext context)
        {
            if (string.IsNullOrEmpty(context.Error) && context.Transaction.GetHttpRequest()?.HttpContext.Response is { } response)
            {
                response.Headers.CacheControl = "public, max-age=60";
                response.Headers.Remove("Pragma");
                response.Headers.Remove("Expires");
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// RFC 7662 with the consent (README.md, "Introspection"): a consent-bound token is active only while its consent is
    /// <c>authorised</c>, and says which consent (RFC 9396 §9.2); a token revoked by its <c>jti</c> is inactive. Inactive
    /// is <c>{"active": false}</c> and nothing else.
    /// </summary>
    internal sealed class IntrospectConsent(ConsentService consents, RevokedAccessTokens revoked, TimeProvider timeProvider) : IOpenIddictServerHandler<HandleIntrospectionRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleIntrospectionRequestContext>()
            .UseSingletonHandler<IntrospectConsent>()
            .SetOrder(int.MaxValue - 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(HandleIntrospectionRequestContext context)
        {
            var principal = context.GenericTokenPrincipal;
            if (principal.GetClaim(Claims.JwtId) is { } jti && revoked.IsRevoked(jti))
            {
                context.Reject(Errors.InvalidToken, "The token was revoked.");
                return;
            }

            context.Claims.Remove(TokenHandlers.ConsentIdClaim);
            if (TokenHandlers.ConsentOf(principal) is not { } consentId)
            {
                return;
            }

            if (await consents.FindAsync(consentId, context.CancellationToken) is not { } consent || consent.StatusAt(timeProvider.GetUtcNow()) != ConsentStatus.Authorised)
            {
                context.Reject(Errors.InvalidToken, "The consent behind this token is no longer authorised.");
                return;
            }

            context.Claims[ConsentAuthorizationDetails.Claim] = new OpenIddictParameter(ConsentAuthorizationDetailsJson.For(consentId));
            if (context.Scopes.Count == 0)
            {
                context.Scopes.UnionWith(principal.GetScopes());
            }
        }
    }

    /// <summary>
    /// RFC 7009 for an access token that has no row (client credentials): revoked by its <c>jti</c> until it would have
    /// expired, on every replica (<see cref="RevokedAccessTokens"/>). The answer is 200 as for any other token.
    /// </summary>
    internal sealed class RevokeWithoutEntry(RevokedAccessTokens revoked) : IOpenIddictServerHandler<HandleRevocationRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleRevocationRequestContext>()
            .UseSingletonHandler<RevokeWithoutEntry>()
            .SetOrder(OpenIddictServerHandlers.Revocation.RevokeToken.Descriptor.Order - 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(HandleRevocationRequestContext context)
        {
            var principal = context.GenericTokenPrincipal;
            if (principal.GetTokenId() is null && principal.HasTokenType(TokenTypeIdentifiers.AccessToken) && principal.GetClaim(Claims.JwtId) is { } jti)
            {
                revoked.Revoke(jti);
                context.HandleRequest();
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// RFC 7009 §2.1: revoking a refresh token revokes what descends from the same grant — every token of its
    /// authorization (the family), its access tokens included. The consent is left as it is.
    /// </summary>
    internal sealed class RevokeRefreshFamily(IOpenIddictTokenManager tokens) : IOpenIddictServerHandler<HandleRevocationRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleRevocationRequestContext>()
            .UseScopedHandler<RevokeRefreshFamily>()
            .SetOrder(OpenIddictServerHandlers.Revocation.RevokeToken.Descriptor.Order + 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(HandleRevocationRequestContext context)
        {
            var principal = context.GenericTokenPrincipal;
            if (principal.HasTokenType(TokenTypeIdentifiers.RefreshToken) && principal.GetAuthorizationId() is { } authorizationId)
            {
                await tokens.RevokeByAuthorizationIdAsync(authorizationId, context.CancellationToken);
            }
        }
    }

    /// <summary>
    /// OpenID Connect Core §5.3 (README.md, "Userinfo"): only for a token with <c>openid</c> (else 403
    /// <c>insufficient_scope</c>) whose consent is still authorised (else 401), and only <c>sub</c>, the pairwise
    /// identifier — never personal data.
    /// </summary>
    internal sealed class UserInfoForConsent(ConsentService consents, TimeProvider timeProvider) : IOpenIddictServerHandler<HandleUserInfoRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleUserInfoRequestContext>()
            .UseSingletonHandler<UserInfoForConsent>()
            .SetOrder(int.MaxValue - 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(HandleUserInfoRequestContext context)
        {
            var principal = context.AccessTokenPrincipal!;
            if (TokenHandlers.ConsentOf(principal) is not { } consentId
                || await consents.FindAsync(consentId, context.CancellationToken) is not { } consent
                || consent.StatusAt(timeProvider.GetUtcNow()) != ConsentStatus.Authorised)
            {
                context.Reject(Errors.InvalidToken, "Only a token bound to an authorised consent has a user to describe.");
                return;
            }

            if (!principal.HasScope(Scopes.OpenId))
            {
                context.Reject(Errors.InsufficientScope, "The access token was not granted openid.");
                return;
            }

            context.Claims.Clear();
            context.Audiences.Clear();
            context.Issuer = null;
        }
    }

    /// <summary>Every refusal is logged with its error, endpoint and client (never a token or secret).</summary>
    internal sealed class LogRefusals(ILogger<LogRefusals> logger) : IOpenIddictServerHandler<ProcessErrorContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessErrorContext>()
            .UseSingletonHandler<LogRefusals>()
            .SetOrder(int.MinValue + 1000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ProcessErrorContext context)
        {
            Log.ServerRequestRefused(logger, context.Error ?? "", context.EndpointType.ToString(), context.Request?.ClientId ?? "(unauthenticated)", context.ErrorDescription ?? "");
            return ValueTask.CompletedTask;
        }
    }
}
