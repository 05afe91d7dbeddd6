using System.Collections.Frozen;
using System.Collections.Immutable;

namespace EligibilityGateway.Authorization;

/// <summary>
/// Scope names (README.md), which are also the names of the authorization policies that require them, so that an
/// endpoint reads <c>.RequireAuthorization(GatewayScopes.EligibilityCheck)</c>. The one place these strings live.
/// </summary>
internal static class GatewayScopes
{
    /// <summary>Ask eligibility questions (<c>POST /v1/checks</c>); councils only.</summary>
    public const string EligibilityCheck = "eligibility.check";

    /// <summary>Create, read and revoke consent resources; councils only.</summary>
    public const string ConsentsManage = "consents.manage";

    /// <summary>Read and verify the audit trail; auditors only.</summary>
    public const string AuditRead = "audit.read";

    /// <summary>Every scope the token endpoint can grant today, in the order the discovery document lists them.</summary>
    public static ImmutableArray<string> Supported { get; } = [EligibilityCheck, ConsentsManage, AuditRead];

    private static readonly FrozenSet<string> CouncilScopes = FrozenSet.Create(StringComparer.Ordinal, EligibilityCheck, ConsentsManage);
    private static readonly FrozenSet<string> AuditorScopes = FrozenSet.Create(StringComparer.Ordinal, AuditRead);

    /// <summary>What a client of this kind may hold. A council never reads the audit trail; an auditor never checks.</summary>
    public static FrozenSet<string> AllowedFor(ClientKind kind) => kind switch
    {
        ClientKind.Council => CouncilScopes,
        ClientKind.Auditor => AuditorScopes,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>
    /// Granted when the request names no scope (RFC 6749 §3.3 lets the server choose a documented default):
    /// everything the client kind may hold.
    /// </summary>
    public static ImmutableArray<string> DefaultFor(ClientKind kind) => kind switch
    {
        ClientKind.Council => [EligibilityCheck, ConsentsManage],
        ClientKind.Auditor => [AuditRead],
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}

/// <summary>Claim names and fixed values of the gateway's access tokens (RFC 9068 §2.2).</summary>
internal static class AccessTokenClaims
{
    /// <summary>The <c>aud</c> of every access token: the gateway's API (README.md, "Access tokens").</summary>
    public const string Audience = "eligibility-gateway";

    /// <summary>RFC 9068 §2.1: the <c>typ</c> header of a JWT access token.</summary>
    public const string TokenType = "at+jwt";

    /// <summary>RFC 9068 §4 lets the media-type spelling appear too; resource servers accept both.</summary>
    public const string TokenTypeLong = "application/at+jwt";

    public const string Issuer = "iss";
    public const string Subject = "sub";
    public const string AudienceClaim = "aud";
    public const string ClientId = "client_id";
    public const string Scope = "scope";
    public const string IssuedAt = "iat";
    public const string NotBefore = "nbf";
    public const string Expires = "exp";
    public const string TokenId = "jti";
}

/// <summary>Which side of the trust framework a client sits on.</summary>
internal enum ClientKind
{
    Council,
    Auditor,
}
