using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Authorization;

/// <summary>
/// The issuer identifier the gateway publishes, puts in every access token and expects as a client assertion's
/// <c>aud</c>. It is configured (<c>Authorization:Issuer</c>) or derived once, from the first address the server
/// is bound to, and never from a request: taking it from the Host header would let anyone who can reach the
/// gateway make it publish, and accept assertions for, an issuer of their choosing (host-header injection).
/// </summary>
internal sealed class GatewayIssuer
{
    private readonly string? configured;
    private readonly IServer server;
    private readonly ILogger<GatewayIssuer> logger;
    private string? derived;

    public GatewayIssuer(IOptions<AuthorizationServerOptions> options, IServer server, ILogger<GatewayIssuer> logger)
    {
        configured = options.Value.Issuer is { } issuer && AuthorizationServerOptionsValidator.TryNormaliseIssuer(issuer, out var normalised) ? normalised : null;
        this.server = server;
        this.logger = logger;
    }

    /// <summary>The issuer URL without a trailing slash: the base that endpoint paths are appended to.</summary>
    /// <exception cref="InvalidOperationException">Not configured and the server has bound no address yet.</exception>
    public string Value => configured ?? Volatile.Read(ref derived) ?? Derive();

    /// <summary>
    /// The issuer's host name, for host filtering. Unlike <see cref="Value"/> it can be read before the server has
    /// bound its ports (a host name does not depend on the port), so it never fixes a derived issuer too early.
    /// </summary>
    public string Host => configured is { } value ? new Uri(value).Host : ReachableHost(BindingAddress.Parse(FirstAddress()).Host);

    /// <summary>
    /// The issuer identifier as published and put in <c>iss</c> (RFC 8414 §2): the URL in its serialised form, so a
    /// URL without a path ends with <c>/</c> (<c>https://gateway.example/</c>), as WHATWG and .NET URL parsers write it
    /// and as the authorization server library emits it.
    /// </summary>
    public string Identifier => new Uri(Value).AbsoluteUri;

    /// <summary>RFC 8414 <c>jwks_uri</c>.</summary>
    public string JwksUri => Value + AuthorizationServerPaths.Jwks;

    private string Derive()
    {
        var first = FirstAddress();
        var binding = BindingAddress.Parse(first);
        if (binding.Port == 0)
        {
            // Asked for before Kestrel chose the port: deriving now would publish port 0 for good.
            throw new InvalidOperationException("Authorization:Issuer is not set and the server has not bound its port yet.");
        }

        var host = ReachableHost(binding.Host);
        var wildcard = host != binding.Host;

        var defaultPort = (binding.Scheme == Uri.UriSchemeHttps && binding.Port == 443) || (binding.Scheme == Uri.UriSchemeHttp && binding.Port == 80);
        var value = string.Create(CultureInfo.InvariantCulture, $"{binding.Scheme}://{host}{(defaultPort ? string.Empty : ":" + binding.Port.ToString(CultureInfo.InvariantCulture))}{binding.PathBase.TrimEnd('/')}");
        if (Interlocked.CompareExchange(ref derived, value, null) is { } raced)
        {
            return raced;
        }

        Log.IssuerDerived(logger, value, first, wildcard);
        return value;
    }

    private string FirstAddress() =>
        server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
        ?? throw new InvalidOperationException("Authorization:Issuer is not set and the server is bound to no address yet.");

    /// <summary>A wildcard is not a name a client can reach; loopback is the only honest guess.</summary>
    private static string ReachableHost(string host) => host is "+" or "*" or "0.0.0.0" or "[::]" or "::" ? "localhost" : host;
}

/// <summary>Paths of the authorization server's endpoints (README.md, "Endpoints").</summary>
internal static class AuthorizationServerPaths
{
    public const string OpenIdConfiguration = "/.well-known/openid-configuration";
    public const string OAuthAuthorizationServer = "/.well-known/oauth-authorization-server";
    public const string Jwks = "/connect/jwks";
    public const string Token = "/connect/token";
    public const string PushedAuthorization = "/connect/par";
    public const string Authorize = "/connect/authorize";
    public const string AuthorizeContinue = "/connect/authorize/continue";
    public const string Introspect = "/connect/introspect";
    public const string Revoke = "/connect/revoke";
    public const string UserInfo = "/connect/userinfo";
    public const string EndSession = "/connect/endsession";
}
