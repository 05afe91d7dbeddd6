using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using EligibilityGateway.TrustFramework;
using Microsoft.IdentityModel.JsonWebTokens;
using OpenIddict.Server;
using Microsoft.AspNetCore;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace EligibilityGateway.Authorization.Server;

/// <summary>
/// The gateway's client-authentication rules as OpenIddict handlers (README.md, "Client authentication"). OpenIddict
/// reads the credentials, finds the client through <see cref="FrameworkApplicationStore"/> and checks a secret or an
/// assertion's signature; these add what the library leaves to the server: the framework in force, the sandbox-only
/// secret and its throttle, the FAPI 2.0 algorithm allow-list, an audience that is the issuer alone, lifetimes, and
/// single-use <c>jti</c>.
/// </summary>
internal static class ClientAuthenticationHandlers
{
    public static ImmutableArray<OpenIddictServerHandlerDescriptor> Descriptors { get; } =
    [
        ThrottleClientSecret.Descriptor,
        CheckAssertionShape.Descriptor,
        RecordAssertionId.Descriptor,
        RequireFrameworkInForce.Descriptor,
    ];

    /// <summary>
    /// <c>client_secret_basic</c> only for clients of a sandbox framework, and throttled per client id and per address
    /// (README.md, "Throttling client_secret_basic"): a locked counter refuses before the secret is compared, with
    /// <c>Retry-After</c>. The secret itself is verified once here (through <see cref="VerifiedSecretCache"/>), so the
    /// failure is counted; OpenIddict's own check that follows then finds it in the cache.
    /// </summary>
    internal sealed class ThrottleClientSecret(TrustFrameworkMonitor monitor, VerifiedSecretCache verifiedSecrets, ClientAuthenticationThrottle throttle, ILogger<ThrottleClientSecret> logger)
        : IOpenIddictServerHandler<ProcessAuthenticationContext>
    {
        public const string ThrottledDescription = "Too many failed client authentications; try again after the Retry-After delay.";

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
            .UseSingletonHandler<ThrottleClientSecret>()
            .SetOrder(OpenIddictServerHandlers.ValidateClientAssertion.Descriptor.Order - 400)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ProcessAuthenticationContext context)
        {
            if (context.ClientSecret is not { } secret || context.ClientId is not { } clientId || context.IsRejected)
            {
                return;
            }

            var http = context.Transaction.GetHttpRequest()!.HttpContext;
            var address = http.Connection.RemoteIpAddress;

            // Unknown client ids are counted like known ones, so the throttle tells nothing about which exist.
            if (await throttle.CheckAsync(clientId, address, context.CancellationToken) is { Allowed: false } locked)
            {
                Refuse(context, http, locked);
                return;
            }

            var framework = monitor.Current;
            string? failure = !OAuthClient.TryFind(framework, clientId, out var client) ? "Client authentication failed."
                : !framework.Definition.Sandbox ? "client_secret_basic is accepted only from clients of a sandbox trust framework; use private_key_jwt."
                : client.Authentication is not ClientSecretBasicAuthentication basic ? $"This client authenticates with {client.Authentication.Method}."
                : !verifiedSecrets.Verify(clientId, basic.SecretHash, secret) ? "Client authentication failed."
                : null;
            if (failure is not null)
            {
                await throttle.RecordFailureAsync(clientId, address, context.CancellationToken);
                context.Reject(Errors.InvalidClient, failure);
                return;
            }

            // A right secret that raced other guesses past the limit is refused like them.
            if (await throttle.SucceedAsync(clientId, address, context.CancellationToken) is { Allowed: false } raced)
            {
                Refuse(context, http, raced);
            }
        }

        private void Refuse(ProcessAuthenticationContext context, HttpContext http, ThrottleDecision decision)
        {
            Log.ClientAuthenticationThrottled(logger, decision.RefusedBy!, decision.RetryAfterSeconds);
            http.Response.Headers.RetryAfter = decision.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            context.Reject(Errors.InvalidClient, ThrottledDescription);
        }
    }

    /// <summary>
    /// The shape of a client assertion, read before any key is tried (RFC 7523 §3, RFC 7521 §4.2, OpenID Connect Core
    /// §9, draft-ietf-oauth-rfc7523bis, RFC 8725 §3.1, FAPI 2.0 Security Profile §5.4): a compact JWS of at most 8 KiB
    /// signed ES256 or PS256 — so <c>none</c>, HS* (the public key taken as an HMAC secret) and RS256 never reach a
    /// verifier; <c>iss</c> = <c>sub</c> = the client, and a <c>client_id</c> parameter naming the same; <c>aud</c> the
    /// issuer identifier alone, as a string or a one-element array — never the endpoint URL, never beside other
    /// audiences, so an assertion cannot be replayed between servers; <c>exp</c> required, not past and at most
    /// 5 minutes ahead; <c>iat</c> and <c>nbf</c> not in the future (skew 30 s); <c>jti</c> of 1 to 256 characters.
    /// Every refusal is <c>invalid_client</c>, as RFC 7523 §3.2 requires.
    /// </summary>
    internal sealed class CheckAssertionShape(GatewayIssuer issuer, TrustFrameworkMonitor monitor, TimeProvider timeProvider) : IOpenIddictServerHandler<ProcessAuthenticationContext>
    {
        public const int MaxLength = 8 * 1024;

        public static readonly ImmutableArray<string> Algorithms = ["ES256", "PS256"];

        public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(5);

        public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
            .UseSingletonHandler<CheckAssertionShape>()
            .SetOrder(OpenIddictServerHandlers.ValidateClientAssertion.Descriptor.Order - 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ProcessAuthenticationContext context)
        {
            if (context.ClientAssertion is { } assertion && Check(assertion, context.Request.ClientId) is { } refusal)
            {
                context.Reject(Errors.InvalidClient, refusal);
            }

            return ValueTask.CompletedTask;
        }

        private string? Check(string assertion, string? clientIdParameter)
        {
            if (assertion.Length > MaxLength || assertion.Count(c => c == '.') != 2)
            {
                return "client_assertion must be a signed JWT (compact JWS) of at most 8 KiB.";
            }

            JsonWebToken token;
            try
            {
                token = new JsonWebToken(assertion);
            }
            catch (ArgumentException)
            {
                return "client_assertion is not a well-formed JWT.";
            }

            if (token.Alg is not { } algorithm || !Algorithms.Contains(algorithm))
            {
                return "client_assertion must be signed with ES256 or PS256.";
            }

            if (!token.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Iss, out var iss) || string.IsNullOrEmpty(iss)
                || !token.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Sub, out var sub) || !string.Equals(iss, sub, StringComparison.Ordinal))
            {
                return "client_assertion must carry iss and sub, both the client id.";
            }

            if (clientIdParameter is not null && !string.Equals(clientIdParameter, iss, StringComparison.Ordinal))
            {
                return "client_id names another client than the assertion.";
            }

            // With a kid, only that key may verify, and only if it fits the algorithm (RFC 7517 §4.4-4.5, RFC 7518 §3).
            if (token.Kid is { } kid && OAuthClient.TryFind(monitor.Current, iss, out var client) && client.Authentication is PrivateKeyJwtAuthentication registered
                && (registered.Keys.FirstOrDefault(k => k.Kid == kid) is not { } key || (key.Kty == "EC") != (algorithm == "ES256") || (key.Alg is not null && key.Alg != algorithm)))
            {
                return "client_assertion kid and alg must name a key the client registered for that algorithm.";
            }

            return CheckAudience(token) ?? CheckTimes(token, timeProvider.GetUtcNow()) ?? CheckTokenId(token);
        }

        private string? CheckAudience(JsonWebToken token)
        {
            List<string> audiences;
            try
            {
                audiences = [.. token.Audiences];
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or System.Text.Json.JsonException)
            {
                audiences = [];
            }

            // A one-element array is the same audience; two would make the assertion good elsewhere too.
            return audiences is [var value] && (value == issuer.Identifier || value == issuer.Value)
                ? null
                : "client_assertion aud must be the issuer identifier alone (not the endpoint URL, not with other audiences).";
        }

        private static string? CheckTimes(JsonWebToken token, DateTimeOffset now)
        {
            if (!TryGetTime(token, JwtRegisteredClaimNames.Exp, out var expires))
            {
                return "client_assertion must carry exp as a number.";
            }

            if (expires + ClockSkew <= now)
            {
                return "client_assertion has expired.";
            }

            if (expires > now + MaxLifetime + ClockSkew)
            {
                return "client_assertion may be valid for at most 5 minutes.";
            }

            foreach (var claim in new[] { JwtRegisteredClaimNames.Iat, JwtRegisteredClaimNames.Nbf })
            {
                if (token.TryGetClaim(claim, out _) && (!TryGetTime(token, claim, out var at) || at > now + ClockSkew))
                {
                    return $"client_assertion {claim} is in the future or not a number.";
                }
            }

            return null;
        }

        private static bool TryGetTime(JsonWebToken token, string claim, out DateTimeOffset value)
        {
            value = default;
            if (!token.TryGetPayloadValue<long>(claim, out var seconds))
            {
                return false;
            }

            value = DateTimeOffset.FromUnixTimeSeconds(seconds);
            return true;
        }

        private static string? CheckTokenId(JsonWebToken token) =>
            token.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Jti, out var jti) && jti is { Length: > 0 and <= 256 }
                ? null
                : "client_assertion must carry a jti of 1 to 256 characters.";
    }

    /// <summary>
    /// RFC 7523 §3 item 7 and OpenID Connect Core §9: a <c>jti</c> is used once per client, recorded after the signature
    /// has verified (so nobody can burn another client's ids) until the assertion's <c>exp</c> + skew. A replay is
    /// <c>invalid_client</c>; a store that cannot record it is 503, because forgetting an id is not safe.
    /// </summary>
    internal sealed class RecordAssertionId(IClientAssertionReplayCache replays, ILogger<RecordAssertionId> logger) : IOpenIddictServerHandler<ProcessAuthenticationContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
            .AddFilter<OpenIddictServerHandlerFilters.RequireClientAssertionPrincipal>()
            .UseSingletonHandler<RecordAssertionId>()
            .SetOrder(OpenIddictServerHandlers.ValidateClientAssertionIssuer.Descriptor.Order + 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ProcessAuthenticationContext context)
        {
            var token = new JsonWebToken(context.ClientAssertion!);
            var keepUntil = DateTimeOffset.FromUnixTimeSeconds(token.GetPayloadValue<long>(JwtRegisteredClaimNames.Exp)) + CheckAssertionShape.ClockSkew;
            switch (await replays.TryRecordAsync(token.Issuer, token.Id, keepUntil, context.CancellationToken))
            {
                case ReplayCheck.Replayed:
                    Log.AssertionReplayed(logger, token.Issuer, token.Id);
                    context.Reject(Errors.InvalidClient, "This client assertion (jti) was used already.");
                    return;
                case ReplayCheck.Unavailable:
                    context.Reject(Errors.TemporarilyUnavailable, "The authorization server cannot record more client assertions now; try again shortly.");
                    return;
            }
        }
    }

    /// <summary>
    /// No token is issued, and no request pushed, under a framework outside its effective dates (TrustFramework/README.md):
    /// the participants it names are not in force.
    /// </summary>
    internal sealed class RequireFrameworkInForce(TrustFrameworkMonitor monitor, TimeProvider timeProvider) : IOpenIddictServerHandler<ProcessAuthenticationContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
            .UseSingletonHandler<RequireFrameworkInForce>()
            .SetOrder(OpenIddictServerHandlers.ValidateClientSecret.Descriptor.Order + 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ProcessAuthenticationContext context)
        {
            if (context.EndpointType is OpenIddictServerEndpointType.Token or OpenIddictServerEndpointType.PushedAuthorization
                && !monitor.Current.Definition.IsEffectiveAt(timeProvider.GetUtcNow()))
            {
                context.Reject(Errors.UnauthorizedClient, "The trust framework in force is outside its effective dates; no tokens are issued under it.");
            }

            return ValueTask.CompletedTask;
        }
    }
}
