using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.Telemetry;

namespace EligibilityGateway.Authorization;

/// <summary>
/// Puts every access token on the record before it leaves the token endpoint (<c>token.issued</c>, with the token's
/// id, scope and expiry in <c>released</c> and, for a consent-bound token, its consent). If the
/// audit log cannot commit, <see cref="AuditUnavailableException"/> reaches the token endpoint, which answers
/// 503 and releases no token.
/// </summary>
internal sealed class AuditedTokenIssuance(IAuditLog audit, GatewayMetrics metrics) : IAccessTokenIssuanceRecorder
{
    public async ValueTask RecordAsync(IssuedAccessToken issued, CancellationToken cancellationToken)
    {
        await audit.AppendAsync(
            new AuditEntry
            {
                EventType = AuditEventTypes.TokenIssued,
                ClientId = issued.ClientId,
                CouncilId = issued.ClientKind == ClientKind.Council ? issued.ParticipantId : null,
                ConsentId = issued.ConsentId,
                Decision = AuditDecisions.Allow,
                // The grant and how the client proved itself: what an auditor asks first about a token.
                Rule = $"token:{issued.GrantType}/{issued.ClientAuthenticationMethod}",
                TraceId = CheckService.CurrentTraceId(),
                FrameworkId = issued.FrameworkId,
                FrameworkVersion = issued.FrameworkVersion,
                IssuedToken = new AuditIssuedToken(issued.TokenId, issued.Scope, issued.ExpiresAt),
            },
            cancellationToken);
        metrics.TokenIssued(issued.GrantType, issued.ClientId);
    }
}
