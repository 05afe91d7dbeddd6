using System.Diagnostics.CodeAnalysis;
using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Authorization;

/// <summary>
/// Who is calling, for endpoints behind a <see cref="GatewayScopes"/> policy. The council or auditor is looked up in
/// the trust framework snapshot the request uses, by client id, on every request: a participant removed from the
/// framework stops being found at once, whatever tokens it still holds.
/// </summary>
internal static class CallerExtensions
{
    /// <summary>The authenticated client's <c>client_id</c>, or null when the request carries no validated token.</summary>
    public static string? GetCallerClientId(this HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, AuthenticationType: GatewayBearer.SchemeName }
            ? context.User.FindFirst(AccessTokenClaims.ClientId)?.Value
            : null;

    /// <summary>The calling council in <paramref name="framework"/> (read <see cref="TrustFrameworkMonitor.Current"/> once per request and pass it).</summary>
    public static bool TryGetCallerCouncil(this HttpContext context, TrustFrameworkSnapshot framework, [NotNullWhen(true)] out Council? council)
    {
        council = null;
        return context.GetCallerClientId() is { } clientId && framework.TryGetCouncilByClientId(clientId, out council);
    }

    /// <summary>The calling auditor in <paramref name="framework"/>.</summary>
    public static bool TryGetCallerAuditor(this HttpContext context, TrustFrameworkSnapshot framework, [NotNullWhen(true)] out Auditor? auditor)
    {
        auditor = null;
        return context.GetCallerClientId() is { } clientId && framework.TryGetAuditorByClientId(clientId, out auditor);
    }

    /// <summary>
    /// The consent the validated token is bound to (RFC 9396 <c>authorization_details</c>, read by
    /// <see cref="ConsentAuthorizationDetails"/>), or null for a client-credentials token.
    /// </summary>
    public static string? GetConsentId(this HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, AuthenticationType: GatewayBearer.SchemeName }
            ? context.User.FindFirst(ConsentAuthorizationDetails.ConsentIdClaim)?.Value
            : null;

    /// <summary>True when the validated token carries <paramref name="scope"/>.</summary>
    public static bool CallerHasScope(this HttpContext context, string scope) =>
        context.User.HasClaim(AccessTokenClaims.Scope, scope);
}
