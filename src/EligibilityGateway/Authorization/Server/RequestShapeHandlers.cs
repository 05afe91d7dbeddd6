using System.Collections.Immutable;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace EligibilityGateway.Authorization.Server;

/// <summary>
/// What a request to a client-authenticated endpoint (token, PAR, introspection, revocation) must look like before
/// OpenIddict reads it (README.md, "Client authentication"): POST only (405 otherwise), a form of at most 16 KiB with
/// each parameter once, one client authentication method, and an <c>Authorization</c> header that is readable HTTP
/// Basic or absent. OpenIddict would answer some of these <c>invalid_request</c> or ignore them; RFC 6749 §5.2 says a
/// failed or missing client authentication is <c>invalid_client</c> (401), which is what every OAuth client handles.
/// </summary>
internal static class RequestShapeHandlers
{
    /// <summary>Fixed by design: no legitimate form to these endpoints is near this size.</summary>
    public const int MaxFormBytes = 16 * 1024;

    public static ImmutableArray<OpenIddictServerHandlerDescriptor> Descriptors { get; } =
    [
        RequirePostForm.Descriptor,
        OneClientAuthentication<ExtractTokenRequestContext>.Descriptor,
        OneClientAuthentication<ExtractPushedAuthorizationRequestContext>.Descriptor,
        OneClientAuthentication<ExtractIntrospectionRequestContext>.Descriptor,
        OneClientAuthentication<ExtractRevocationRequestContext>.Descriptor,
        RequireClientAuthentication<ValidateTokenRequestContext>.Descriptor,
        RequireClientAuthentication<ValidatePushedAuthorizationRequestContext>.Descriptor,
        RequireClientAuthentication<ValidateIntrospectionRequestContext>.Descriptor,
        RequireClientAuthentication<ValidateRevocationRequestContext>.Descriptor,
        AcceptUntypedAssertions.Descriptor,
        DescribeIssuedTokens.Descriptor,
        UnavailableIs503<ApplyTokenResponseContext>.Descriptor,
        UnavailableIs503<ApplyPushedAuthorizationResponseContext>.Descriptor,
        UnavailableIs503<ApplyIntrospectionResponseContext>.Descriptor,
        UnavailableIs503<ApplyRevocationResponseContext>.Descriptor,
    ];

    private static bool IsClientAuthenticated(OpenIddictServerEndpointType endpoint) => endpoint is OpenIddictServerEndpointType.Token
        or OpenIddictServerEndpointType.PushedAuthorization or OpenIddictServerEndpointType.Introspection or OpenIddictServerEndpointType.Revocation;

    /// <summary>
    /// RFC 6749 §3.2 (POST), §3.1 ("parameters MUST NOT be included more than once") and a 16 KiB form. Any other method
    /// is 405 with <c>Allow: POST</c> and an OAuth error body.
    /// </summary>
    internal sealed class RequirePostForm : IOpenIddictServerHandler<ProcessRequestContext>
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessRequestContext>()
            .UseSingletonHandler<RequirePostForm>()
            .SetOrder(FlowHandlers.UseConfiguredIssuer.Descriptor.Order + 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public async ValueTask HandleAsync(ProcessRequestContext context)
        {
            if (context.EndpointType == OpenIddictServerEndpointType.Unknown || context.Transaction.GetHttpRequest() is not { } request)
            {
                return;
            }

            if (IsClientAuthenticated(context.EndpointType))
            {
                if (!HttpMethods.IsPost(request.Method))
                {
                    var response = request.HttpContext.Response;
                    response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                    response.Headers.Allow = HttpMethods.Post;
                    response.Headers.CacheControl = "no-store";
                    response.ContentType = "application/json;charset=UTF-8";
                    await response.WriteAsync($$"""{"error":"invalid_request","error_description":"Use POST (RFC 6749 section 3.2)."}""", context.CancellationToken);
                    context.HandleRequest();
                    return;
                }

                if (request.ContentLength > MaxFormBytes)
                {
                    context.Reject(Errors.InvalidRequest, "The request body may be at most 16 KiB.");
                    return;
                }

                // A body without a length (chunked) is cut off at the same size by the server.
                if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                {
                    limit.MaxRequestBodySize = MaxFormBytes;
                }
            }

            var repeated = request.Query.FirstOrDefault(p => p.Value.Count > 1).Key;
            if (repeated is null && request.HasFormContentType)
            {
                IFormCollection form;
                try
                {
                    form = await request.ReadFormAsync(context.CancellationToken);
                }
                catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or IOException or DecoderFallbackException)
                {
                    // A NUL, an undecodable byte, a body over the limit or one cut short: the request is unreadable, not a fault.
                    context.Reject(Errors.InvalidRequest, "The request body is not a readable form of at most 16 KiB (application/x-www-form-urlencoded, UTF-8).");
                    return;
                }

                repeated = form.FirstOrDefault(p => p.Value.Count > 1).Key;
            }

            if (repeated is not null)
            {
                context.Reject(Errors.InvalidRequest, $"'{OAuthError.Sanitise(repeated)}' is repeated; each parameter may be sent once (RFC 6749 section 3.1).");
            }
        }
    }

    /// <summary>
    /// RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request"; §2.3.1: the Basic
    /// header holds the form-encoded client id and secret, and a <c>client_id</c> also in the body names the same client.
    /// </summary>
    internal sealed class OneClientAuthentication<TContext> : IOpenIddictServerHandler<TContext> where TContext : BaseValidatingContext
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>()
            .UseSingletonHandler<OneClientAuthentication<TContext>>()
            .SetOrder(OpenIddictServerAspNetCoreHandlers.ValidateClientAuthenticationMethod<TContext>.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(TContext context)
        {
            var request = context.Transaction.Request;
            var header = context.Transaction.GetHttpRequest()?.Headers.Authorization.ToString();
            if (request is null || string.IsNullOrEmpty(header))
            {
                if (request is { ClientAssertion: not null, ClientSecret: not null })
                {
                    context.Reject(Errors.InvalidRequest, "More than one client authentication method was used (RFC 6749 section 2.3).");
                }

                return ValueTask.CompletedTask;
            }

            if (!TryReadBasic(header, out var clientId))
            {
                context.Reject(Errors.InvalidClient, "The Authorization header must be HTTP Basic with form-urlencoded client id and secret (RFC 6749 section 2.3.1).");
            }
            else if (request.ClientSecret is not null || request.ClientAssertion is not null || request.ClientAssertionType is not null)
            {
                context.Reject(Errors.InvalidRequest, "More than one client authentication method was used (RFC 6749 section 2.3).");
            }
            else if (request.ClientId is { } bodyClientId && !string.Equals(bodyClientId, clientId, StringComparison.Ordinal))
            {
                context.Reject(Errors.InvalidRequest, "client_id in the body differs from the client authenticated in the Authorization header.");
            }

            return ValueTask.CompletedTask;
        }

        private static bool TryReadBasic(string header, out string clientId)
        {
            clientId = "";
            if (!AuthenticationHeaderValue.TryParse(header, out var value) || !string.Equals(value.Scheme, "Basic", StringComparison.OrdinalIgnoreCase)
                || value.Parameter is not { Length: > 0 and <= 4096 } parameter)
            {
                return false;
            }

            var buffer = new byte[parameter.Length];
            if (!Convert.TryFromBase64String(parameter, buffer, out var length))
            {
                return false;
            }

            string decoded;
            try
            {
                decoded = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(buffer, 0, length);
            }
            catch (DecoderFallbackException)
            {
                return false;
            }

            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == decoded.Length - 1)
            {
                return false;
            }

            clientId = Uri.UnescapeDataString(decoded[..colon].Replace('+', ' '));
            return true;
        }
    }

    /// <summary>
    /// Every client here is confidential (RFC 6749 §3.2.1): a request without a secret or an assertion is
    /// <c>invalid_client</c> (§5.2: "no client authentication included"), not a missing parameter.
    /// </summary>
    internal sealed class RequireClientAuthentication<TContext> : IOpenIddictServerHandler<TContext> where TContext : BaseValidatingContext
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>()
            .UseSingletonHandler<RequireClientAuthentication<TContext>>()
            .SetOrder(int.MinValue + 100_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(TContext context)
        {
            if (context.Transaction.Request is { ClientSecret: null, ClientAssertion: null, ClientAssertionType: null })
            {
                context.Reject(Errors.InvalidClient, "Client authentication is required (RFC 6749 section 3.2.1).");
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// RFC 7523 does not ask a client assertion for a <c>typ</c>, and the certified clients councils use send none (or
    /// <c>JWT</c>); OpenIddict expects the newer <c>client-authentication+jwt</c>. Both are taken as assertions here.
    /// </summary>
    internal sealed class AcceptUntypedAssertions : IOpenIddictServerHandler<ValidateTokenContext>
    {
        private const string AssertionType = "client-authentication+jwt";

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
            .UseSingletonHandler<AcceptUntypedAssertions>()
            .SetOrder(OpenIddictServerHandlers.Protection.ResolveTokenValidationParameters.Descriptor.Order + 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ValidateTokenContext context)
        {
            if (context.ValidTokenTypes.Count == 1 && context.ValidTokenTypes.Contains(TokenTypeIdentifiers.Private.ClientAssertion)
                && context.TokenValidationParameters is { } parameters)
            {
                var original = parameters.TypeValidator;
                parameters.TypeValidator = (type, token, validation) => string.IsNullOrEmpty(type) || string.Equals(type, "JWT", StringComparison.OrdinalIgnoreCase)
                    ? AssertionType
                    : original!(type, token, validation);
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// The token response always says what was granted, in one order (<c>openid eligibility.check consents.manage
    /// audit.read</c>), and <c>expires_in</c>, there and at PAR, is the configured lifetime the token was made with.
    /// </summary>
    internal sealed class DescribeIssuedTokens(Microsoft.Extensions.Options.IOptions<AuthorizationServerOptions> options) : IOpenIddictServerHandler<ProcessSignInContext>
    {
        private static readonly ImmutableArray<string> Order = [Scopes.OpenId, .. GatewayScopes.Supported];

        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .UseSingletonHandler<DescribeIssuedTokens>()
            .SetOrder(OpenIddictServerHandlers.AttachSignInParameters.Descriptor.Order + 100)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(ProcessSignInContext context)
        {
            // RFC 9126 §2.2: expires_in is the configured lifetime of the request_uri, as the request token was made with it.
            if (context.EndpointType == OpenIddictServerEndpointType.PushedAuthorization && context.Response.RequestUri is not null)
            {
                context.Response.ExpiresIn = (long)options.Value.PushedRequestLifetime.TotalSeconds;
            }

            if (context.EndpointType == OpenIddictServerEndpointType.Token && context.AccessTokenPrincipal is { } principal && context.Response.AccessToken is not null)
            {
                var granted = principal.GetScopes();
                context.Response.Scope = string.Join(' ', Order.Where(granted.Contains));
                context.Response.ExpiresIn = (long)options.Value.AccessTokenLifetime.TotalSeconds;
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// RFC 6749 §5.2 <c>temporarily_unavailable</c> (the audit log or a shared store could not record what it must) is
    /// answered 503, so that clients and load balancers retry, rather than the 400 of a bad request.
    /// </summary>
    internal sealed class UnavailableIs503<TContext> : IOpenIddictServerHandler<TContext> where TContext : BaseRequestContext
    {
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>()
            .UseSingletonHandler<UnavailableIs503<TContext>>()
            .SetOrder(OpenIddictServerAspNetCoreHandlers.AttachHttpResponseCode<TContext>.Descriptor.Order + 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        public ValueTask HandleAsync(TContext context)
        {
            if (context.Transaction.Response?.Error == Errors.TemporarilyUnavailable && context.Transaction.GetHttpRequest()?.HttpContext.Response is { } response)
            {
                response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            }

            return ValueTask.CompletedTask;
        }
    }
}
