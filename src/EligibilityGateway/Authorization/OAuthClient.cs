using System.Diagnostics.CodeAnalysis;
using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Authorization;

/// <summary>
/// A client of the token endpoint as the trust framework in force declares it: a council or an auditor.
/// Built per request from the snapshot the request read, never kept, so a reload takes effect at once.
/// </summary>
internal sealed record OAuthClient(string ClientId, ClientKind Kind, string ParticipantId, ClientAuthentication Authentication, TrustFrameworkSnapshot Framework)
{
    /// <summary>Finds the council or auditor whose <c>client_id</c> this is (client ids are unique across both).</summary>
    public static bool TryFind(TrustFrameworkSnapshot framework, string clientId, [NotNullWhen(true)] out OAuthClient? client)
    {
        if (framework.TryGetCouncilByClientId(clientId, out var council))
        {
            client = new OAuthClient(council.ClientId, ClientKind.Council, council.Id, council.Authentication, framework);
            return true;
        }

        if (framework.TryGetAuditorByClientId(clientId, out var auditor))
        {
            client = new OAuthClient(auditor.ClientId, ClientKind.Auditor, auditor.Id, auditor.Authentication, framework);
            return true;
        }

        client = null;
        return false;
    }
}
