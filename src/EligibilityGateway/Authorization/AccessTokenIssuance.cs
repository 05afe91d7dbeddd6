using System.Collections.Immutable;

namespace EligibilityGateway.Authorization;

/// <summary>An access token just made, and what the audit trail needs to know about it.</summary>
/// <param name="Token">The compact JWT; hand it to the client only, never to a log or a record.</param>
/// <param name="ConsentId">The consent a consent-bound token acts under; null for a client-credentials token.</param>
internal sealed record IssuedAccessToken(
    string Token,
    string TokenId,
    string ClientId,
    ClientKind ClientKind,
    string ParticipantId,
    string GrantType,
    string ClientAuthenticationMethod,
    ImmutableArray<string> Scopes,
    DateTimeOffset IssuedAt,
    DateTimeOffset ExpiresAt,
    string FrameworkId,
    string FrameworkVersion,
    string? ConsentId = null)
{
    /// <summary>RFC 6749 §3.3 form: space-separated.</summary>
    public string Scope => string.Join(' ', Scopes);

    /// <summary>Never prints the token itself.</summary>
    public override string ToString() => $"IssuedAccessToken {{ {TokenId}, {ClientId}, {Scope}, expires {ExpiresAt:O} }}";
}

/// <summary>
/// Told of every access token before it leaves the token endpoint; the audit trail implements this and
/// registers it with <c>services.AddSingleton&lt;IAccessTokenIssuanceRecorder, …&gt;()</c>. Every registered
/// recorder is awaited; if one throws, the client gets 503 <c>temporarily_unavailable</c> and no token, so no token
/// is ever in circulation without its record.
/// </summary>
internal interface IAccessTokenIssuanceRecorder
{
    ValueTask RecordAsync(IssuedAccessToken issued, CancellationToken cancellationToken);
}

