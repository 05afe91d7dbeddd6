using Microsoft.AspNetCore.Authentication;
using OpenIddict.Server.AspNetCore;

namespace EligibilityGateway.Authorization.Server;

/// <summary>
/// ASP.NET Core asks every request-handling authentication scheme to look at every request. OpenIddict's server would
/// then build a transaction and run its request pipeline for each API call and page only to find it is not one of its
/// endpoints, which cost about a tenth of the cached check's throughput. Its handler is offered only for the paths its
/// endpoints live under (<c>/connect/</c>, <c>/.well-known/</c>); every other scheme is served as before.
/// </summary>
internal sealed class ServerPathsOnlyHandlerProvider(AuthenticationHandlerProvider inner) : IAuthenticationHandlerProvider
{
    public Task<IAuthenticationHandler?> GetHandlerAsync(HttpContext context, string authenticationScheme) =>
        authenticationScheme == OpenIddictServerAspNetCoreDefaults.AuthenticationScheme && !IsServerPath(context.Request.Path)
            ? Task.FromResult<IAuthenticationHandler?>(null)
            : inner.GetHandlerAsync(context, authenticationScheme);

    private static bool IsServerPath(PathString path) =>
        path.StartsWithSegments("/connect", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/.well-known", StringComparison.OrdinalIgnoreCase);
}
