namespace EligibilityGateway.Authorization;

/// <summary>Maps what the authorization server serves beside OpenIddict's own endpoints (README.md, "Endpoints").</summary>
public static class AuthorizationEndpointRouteBuilderExtensions
{
    private static readonly string[] ReadMethods = [HttpMethods.Get, HttpMethods.Head];

    /// <summary>
    /// <c>GET /connect/jwks</c>. The token, PAR, introspection, revocation, userinfo and discovery endpoints are
    /// OpenIddict's, answered by its ASP.NET Core handler before routing; the authorization endpoint is the consent page.
    /// </summary>
    public static IEndpointRouteBuilder MapAuthorizationServerEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods(AuthorizationServerPaths.Jwks, ReadMethods, context => context.RequestServices.GetRequiredService<JwksEndpoint>().WriteAsync(context)).AllowAnonymous();
        return endpoints;
    }
}
