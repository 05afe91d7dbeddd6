namespace EligibilityGateway.Authorization;

/// <summary>Maps the authorization server's endpoints (README.md, "Endpoints"; machine-to-machine part).</summary>
public static class AuthorizationEndpointRouteBuilderExtensions
{
    private static readonly string[] ReadMethods = [HttpMethods.Get, HttpMethods.Head];

    /// <summary>
    /// <c>GET /.well-known/openid-configuration</c>, <c>GET /.well-known/oauth-authorization-server</c>,
    /// <c>GET /connect/jwks</c> and <c>/connect/token</c> (POST; any other method is answered 405 in OAuth form).
    /// All allow anonymous callers: the token endpoint authenticates clients itself.
    /// </summary>
    public static IEndpointRouteBuilder MapAuthorizationServerEndpoints(this IEndpointRouteBuilder endpoints)
    {
        RequestDelegate metadata = context => context.RequestServices.GetRequiredService<DiscoveryEndpoints>().WriteMetadataAsync(context);
        endpoints.MapMethods(AuthorizationServerPaths.OpenIdConfiguration, ReadMethods, metadata).AllowAnonymous();
        endpoints.MapMethods(AuthorizationServerPaths.OAuthAuthorizationServer, ReadMethods, metadata).AllowAnonymous();
        endpoints.MapMethods(AuthorizationServerPaths.Jwks, ReadMethods, context => context.RequestServices.GetRequiredService<DiscoveryEndpoints>().WriteJwksAsync(context)).AllowAnonymous();
        endpoints.Map(AuthorizationServerPaths.Token, context => context.RequestServices.GetRequiredService<TokenEndpoint>().HandleAsync(context)).AllowAnonymous();
        endpoints.Map(AuthorizationServerPaths.PushedAuthorization, context => context.RequestServices.GetRequiredService<PushedAuthorizationEndpoint>().HandleAsync(context)).AllowAnonymous();
        endpoints.Map(AuthorizationServerPaths.Introspect, context => context.RequestServices.GetRequiredService<TokenManagementEndpoints>().IntrospectAsync(context)).AllowAnonymous();
        endpoints.Map(AuthorizationServerPaths.Revoke, context => context.RequestServices.GetRequiredService<TokenManagementEndpoints>().RevokeAsync(context)).AllowAnonymous();
        endpoints.MapGet(AuthorizationServerPaths.UserInfo, (RequestDelegate)(context => context.RequestServices.GetRequiredService<TokenManagementEndpoints>().UserInfoAsync(context))).AllowAnonymous();
        return endpoints;
    }
}
