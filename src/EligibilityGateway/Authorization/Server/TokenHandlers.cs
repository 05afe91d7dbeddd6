using System.Collections.Immutable;
using System.Security.Claims;
using System.Text.Json;
using EligibilityGateway.Consents;
using EligibilityGateway.TrustFramework;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace EligibilityGateway.Authorization.Server;

/// <summary>
/// The token endpoint's gateway rules as OpenIddict handlers (README.md, "Token endpoint"): which scopes a council or
/// an auditor may hold, the principal of a client-credentials token, the consent behind a code or a refresh token, a
/// refresh token with every code and no new ID token on refresh, and no token without its audit record.
/// </summary>
internal static class TokenHandlers
{
    public static ImmutableArray<OpenIddictServerHandlerDescriptor> Descriptors { get; } =
    [
        ResolveClientCredentialsScopes.Descriptor,
        RefuseWiderRefreshScope.Descriptor,
        AllowOneRetryOfARotatedRefreshToken.Descriptor,
        IssueClientCredentialsPrincipal.Descriptor,
        RequireAuthorisedConsent.Descriptor,
        ChooseTokens.Descriptor,
        KeepNoEntryForClientTokens.Descriptor,
        AttachAuthorizationDetails.Descriptor,
        RecordIssuedTokens.Descriptor,
    ];

    /// <summary>The claim an access, refresh or ID token carries the consent in, for the gateway's own reading.</summary>
    public const string ConsentIdClaim = ConsentAuthorizationDetails.ConsentIdClaim;

    /// <summary>
    /// RFC 6749 §3.3 for client credentials: no <c>scope</c> means everything the client's kind may hold; a scope
    /// outside that set, or <c>openid</c> (there is no user), is <c>invalid_scope</c> — nothing is silently dropped.
    /// </summary>
    internal sealed class ResolveClientCredentialsScopes(TrustFrameworkMonitor monitor) : IOpenIddictServerHandler<ValidateTokenRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
            .UseSingletonHandler<ResolveClientCredentialsScopes>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ValidateScopePermissions.Descriptor.Order - 10)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ValidateTokenRequestContext context)
        {
            if (!context.Request.IsClientCredentialsGrantType() || context.ClientId is not { } clientId || !OAuthClient.TryFind(monitor.Current, clientId, out var client))
            {
                return ValueTask.CompletedTask;
            }

            if (string.IsNullOrEmpty(context.Request.Scope))
            {
                context.Request.Scope = string.Join(' ', GatewayScopes.DefaultFor(client.Kind));
                return ValueTask.CompletedTask;
            }

            // RFC 6749 §3.3: scope-tokens separated by single spaces; an empty token is a malformed scope.
            var allowed = GatewayScopes.AllowedFor(client.Kind);
            if (context.Request.Scope.Split(' ').Any(scope => !allowed.Contains(scope)))
            {
                context.Reject(Errors.InvalidScope, client.Kind == ClientKind.Council
                    ? "A council may ask for eligibility.check and consents.manage only."
                    : "An auditor may ask for audit.read only.");
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>RFC 6749 §6: a refresh may narrow the scope it was granted, never widen it (<c>invalid_scope</c>).</summary>
    internal sealed class RefuseWiderRefreshScope : IOpenIddictServerHandler<ValidateTokenRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
            .UseSingletonHandler<RefuseWiderRefreshScope>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ValidateGrantedScopes.Descriptor.Order - 10)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ValidateTokenRequestContext context)
        {
            if (context.Request.IsRefreshTokenGrantType() && !string.IsNullOrEmpty(context.Request.Scope) && context.RefreshTokenPrincipal is { } principal
                && !context.Request.GetScopes().All(principal.HasScope))
            {
                context.Reject(Errors.InvalidScope, "A refresh may not ask for more scope than was granted (RFC 6749 section 6).");
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// Rotation that tolerates a lost response, once (RFC 9700 §4.14.2, README.md "Refresh tokens"): OpenIddict lets a
    /// rotated refresh token be used again for 60 s (its reuse leeway). The first such retry is honoured and revokes the
    /// successor the council never saw; any further use of the retired token is taken as theft: its whole family is
    /// revoked and the answer is <c>invalid_grant</c>. After the leeway OpenIddict itself revokes the family.
    /// </summary>
    internal sealed class AllowOneRetryOfARotatedRefreshToken(IOpenIddictTokenManager tokens, ILogger<AllowOneRetryOfARotatedRefreshToken> logger) : IOpenIddictServerHandler<ValidateTokenRequestContext>
    {
        /// <summary>The token property that marks a retired refresh token as already retried.</summary>
        public const string RetriedProperty = "egw_retried";

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
            .UseScopedHandler<AllowOneRetryOfARotatedRefreshToken>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ValidateGrantedScopes.Descriptor.Order + 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ValidateTokenRequestContext context)
        {
            if (!context.Request.IsRefreshTokenGrantType() || context.RefreshTokenPrincipal?.GetTokenId() is not { } id
                || await tokens.FindByIdAsync(id, context.CancellationToken) is not { } token
                || !await tokens.HasStatusAsync(token, Statuses.Redeemed, context.CancellationToken))
            {
                return;
            }

            var authorizationId = await tokens.GetAuthorizationIdAsync(token, context.CancellationToken);
            var properties = await tokens.GetPropertiesAsync(token, context.CancellationToken);
            if (properties.ContainsKey(RetriedProperty))
            {
                if (authorizationId is not null)
                {
                    await tokens.RevokeByAuthorizationIdAsync(authorizationId, context.CancellationToken);
                }

                Log.RefreshTokenRefused(logger, context.ClientId ?? "", "a retired refresh token was used a second time; its family is revoked");
                context.Reject(Errors.InvalidGrant, "This refresh token was retired and already retried; every token of its grant is now revoked.");
                return;
            }

            var descriptor = new OpenIddictTokenDescriptor();
            await tokens.PopulateAsync(descriptor, token, context.CancellationToken);
            descriptor.Properties[RetriedProperty] = JsonSerializer.SerializeToElement(true);
            await tokens.UpdateAsync(token, descriptor, context.CancellationToken);
            if (authorizationId is null)
            {
                return;
            }

            // The successor issued by the rotation whose response was lost is never used by the council: retire it.
            // Read to the end before anything is changed: a store may not run a command while a query is still open.
            var family = new List<object>();
            await foreach (var member in tokens.FindByAuthorizationIdAsync(authorizationId, context.CancellationToken))
            {
                family.Add(member);
            }

            foreach (var other in family)
            {
                if (!string.Equals(await tokens.GetIdAsync(other, context.CancellationToken), id, StringComparison.Ordinal)
                    && await tokens.HasTypeAsync(other, TokenTypeIdentifiers.RefreshToken, context.CancellationToken)
                    && await tokens.HasStatusAsync(other, Statuses.Valid, context.CancellationToken))
                {
                    await tokens.TryRevokeAsync(other, context.CancellationToken);
                }
            }
        }
    }

    /// <summary>
    /// Client credentials (RFC 6749 §4.4): the client acts for itself, so <c>sub</c> is its client id (RFC 9068 §2.2);
    /// the audience is the gateway's API.
    /// </summary>
    internal sealed class IssueClientCredentialsPrincipal : IOpenIddictServerHandler<HandleTokenRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleTokenRequestContext>()
            .UseSingletonHandler<IssueClientCredentialsPrincipal>()
            .SetOrder(OpenIddictServerHandlers.Exchange.AttachPrincipal.Descriptor.Order + 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(HandleTokenRequestContext context)
        {
            if (!context.Request.IsClientCredentialsGrantType())
            {
                return ValueTask.CompletedTask;
            }

            var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Subject, Claims.Role);
            identity.SetClaim(Claims.Subject, context.ClientId);
            var principal = new ClaimsPrincipal(identity);
            principal.SetScopes(context.Request.GetScopes());
            principal.SetResources(AccessTokenClaims.Audience);
            principal.SetDestinations(static _ => [Destinations.AccessToken]);
            context.Principal = principal;
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// A code or refresh token is honoured only while its consent is <c>authorised</c> (revoked, rejected or expired:
    /// <c>invalid_grant</c>), and the response echoes the consent as RFC 9396 <c>authorization_details</c> (§7.1).
    /// </summary>
    internal sealed class RequireAuthorisedConsent(ConsentService consents, TimeProvider timeProvider) : IOpenIddictServerHandler<HandleTokenRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleTokenRequestContext>()
            .UseSingletonHandler<RequireAuthorisedConsent>()
            .SetOrder(IssueClientCredentialsPrincipal.Descriptor.Order + 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(HandleTokenRequestContext context)
        {
            if (!context.Request.IsAuthorizationCodeGrantType() && !context.Request.IsRefreshTokenGrantType())
            {
                return;
            }

            if (context.Principal is null || ConsentOf(context.Principal) is not { } consentId
                || await consents.FindAsync(consentId, context.CancellationToken) is not { } consent
                || consent.StatusAt(timeProvider.GetUtcNow()) != ConsentStatus.Authorised)
            {
                context.Reject(Errors.InvalidGrant, "The consent behind this grant is no longer authorised.");
                return;
            }

            context.Parameters[ConsentAuthorizationDetails.Claim] = new OpenIddictParameter(ConsentAuthorizationDetailsJson.For(consentId));
        }
    }

    /// <summary>
    /// Which tokens a response carries: a refresh token with every code exchange and refresh (bound to the consent, not
    /// to an <c>offline_access</c> scope the councils never ask for), none for client credentials, and no new ID token on
    /// refresh (OpenID Connect Core §12.2 makes it optional; the council already knows who authorised).
    /// </summary>
    internal sealed class ChooseTokens : IOpenIddictServerHandler<ProcessSignInContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .UseSingletonHandler<ChooseTokens>()
            .SetOrder(OpenIddictServerHandlers.EvaluateGeneratedTokens.Descriptor.Order + 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ProcessSignInContext context)
        {
            if (context.EndpointType != OpenIddictServerEndpointType.Token)
            {
                return ValueTask.CompletedTask;
            }

            var consentBound = context.Request.IsAuthorizationCodeGrantType() || context.Request.IsRefreshTokenGrantType();
            context.GenerateRefreshToken = context.IncludeRefreshToken = consentBound;
            if (context.Request.IsRefreshTokenGrantType())
            {
                context.GenerateIdentityToken = context.IncludeIdentityToken = false;
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// Client-credentials access tokens get no row in the token table: a council may ask for thousands a second, and
    /// nothing needs to find one later — RFC 7009 revocation of one is kept by its <c>jti</c>
    /// (<see cref="RevokedAccessTokens"/>). Consent-bound access tokens keep their row, so a code replay, a revoked refresh
    /// token or a revoked consent marks them revoked for introspection and the API on every replica.
    /// </summary>
    internal sealed class KeepNoEntryForClientTokens : IOpenIddictServerHandler<GenerateTokenContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<GenerateTokenContext>()
            .UseSingletonHandler<KeepNoEntryForClientTokens>()
            .SetOrder(int.MinValue + 1000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(GenerateTokenContext context)
        {
            if (context.TokenType == TokenTypeIdentifiers.AccessToken && context.Request?.IsClientCredentialsGrantType() == true)
            {
                context.CreateTokenEntry = false;
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// RFC 9396 §9.1: a consent-bound access token carries <c>authorization_details</c>, an array with the one
    /// <c>eligibility-check</c> entry naming the consent — in place of the consent id claim it was made from (a claim
    /// list cannot say "an array of one").
    /// </summary>
    internal sealed class AttachAuthorizationDetails : IOpenIddictServerHandler<GenerateTokenContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<GenerateTokenContext>()
            .UseSingletonHandler<AttachAuthorizationDetails>()
            .SetOrder(OpenIddictServerHandlers.Protection.GenerateIdentityModelToken.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(GenerateTokenContext context)
        {
            var descriptor = context.SecurityTokenDescriptor;
            if (context.TokenType != TokenTypeIdentifiers.AccessToken || descriptor.Subject?.FindFirst(ConsentIdClaim) is not { } consent)
            {
                return ValueTask.CompletedTask;
            }

            descriptor.Subject.RemoveClaim(consent);
            descriptor.Claims = new Dictionary<string, object>(descriptor.Claims ?? new Dictionary<string, object>(), StringComparer.Ordinal)
            {
                [ConsentAuthorizationDetails.Claim] = new List<object>
                {
                    new Dictionary<string, object> { ["type"] = ConsentAuthorizationDetails.Type, [ConsentAuthorizationDetails.ConsentIdMember] = consent.Value },
                },
            };
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>The consent of a validated token: its consent id claim (codes, refresh tokens) or its authorization details (access tokens).</summary>
    public static string? ConsentOf(ClaimsPrincipal principal)
    {
        if (principal.GetClaim(ConsentIdClaim) is { } consentId)
        {
            return consentId;
        }

        foreach (var detail in principal.GetClaims(ConsentAuthorizationDetails.Claim))
        {
            try
            {
                using var document = JsonDocument.Parse(detail);
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty("type", out var type) && type.ValueEquals(ConsentAuthorizationDetails.Type)
                    && document.RootElement.TryGetProperty(ConsentAuthorizationDetails.ConsentIdMember, out var id) && id.ValueKind == JsonValueKind.String)
                {
                    return id.GetString();
                }
            }
            catch (JsonException)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>
    /// No record, no token: every access token is appended to the audit log (<c>token.issued</c>, with its id and
    /// scope) after it is made and before the response leaves; if the log cannot commit, the answer is 503
    /// <c>temporarily_unavailable</c> and the token is never seen.
    /// </summary>
    internal sealed class RecordIssuedTokens(IEnumerable<IAccessTokenIssuanceRecorder> recorders, TrustFrameworkMonitor monitor, ILogger<RecordIssuedTokens> logger)
        : IOpenIddictServerHandler<ProcessSignInContext>
    {
        private readonly IAccessTokenIssuanceRecorder[] recorders = [.. recorders];

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .UseSingletonHandler<RecordIssuedTokens>()
            .SetOrder(OpenIddictServerHandlers.AttachSignInParameters.Descriptor.Order - 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ProcessSignInContext context)
        {
            if (context.AccessTokenPrincipal is not { } principal || context.AccessToken is null || context.ClientId is not { } clientId
                || !OAuthClient.TryFind(monitor.Current, clientId, out var client))
            {
                return;
            }

            var definition = client.Framework.Definition;
            var jwt = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(context.AccessToken);
            var issued = new IssuedAccessToken(
                context.AccessToken,
                jwt.Id,
                clientId,
                client.Kind,
                client.ParticipantId,
                context.Request.GrantType ?? "",
                AuthenticationMethod(context),
                [.. principal.GetScopes()],
                new DateTimeOffset(jwt.IssuedAt, TimeSpan.Zero),
                new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero),
                definition.Id,
                definition.Version,
                context.Request.IsClientCredentialsGrantType() ? null : ConsentIn(jwt));
            try
            {
                foreach (var recorder in recorders)
                {
                    await recorder.RecordAsync(issued, context.CancellationToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !context.CancellationToken.IsCancellationRequested)
            {
                Log.IssuanceRecordFailed(logger, issued.TokenId, clientId, ex);
                context.Reject(Errors.TemporarilyUnavailable, "The token could not be recorded in the audit trail; no token was issued. Try again shortly.");
            }
        }

        /// <summary>The consent the token itself names in its <c>authorization_details</c>: what it will be honoured for.</summary>
        private static string? ConsentIn(Microsoft.IdentityModel.JsonWebTokens.JsonWebToken jwt)
        {
            using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(jwt.EncodedPayload));
            return ConsentAuthorizationDetails.TryRead(payload.RootElement, out var consentId) ? consentId : null;
        }

        private static string AuthenticationMethod(ProcessSignInContext context) =>
            !string.IsNullOrEmpty(context.Request.ClientAssertion) ? ClientAuthentication.PrivateKeyJwtMethod
            : !string.IsNullOrEmpty(context.Request.ClientSecret) ? ClientAuthentication.ClientSecretBasicMethod
            : "none";
    }
}

/// <summary>The RFC 9396 <c>authorization_details</c> value of a consent-bound grant: one <c>eligibility-check</c> entry.</summary>
internal static class ConsentAuthorizationDetailsJson
{
    public static JsonElement For(string consentId)
    {
        using var document = JsonDocument.Parse(JsonSerializer.Serialize(new[]
        {
            new Dictionary<string, string> { ["type"] = ConsentAuthorizationDetails.Type, [ConsentAuthorizationDetails.ConsentIdMember] = consentId },
        }));
        return document.RootElement.Clone();
    }
}
