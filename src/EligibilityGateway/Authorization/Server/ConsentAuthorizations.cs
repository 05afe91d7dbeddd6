using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Consents;
using EligibilityGateway.TrustFramework;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace EligibilityGateway.Authorization.Server;

/// <summary>
/// A consent's OpenIddict authorization: made when the citizen presses Allow, it holds every code, access token and
/// refresh token issued under the consent, so the revocation cascade (README.md) finds them in one place and holds on
/// every replica, because the store is shared. Revoking a token alone leaves the consent and its authorization as they are.
/// </summary>
internal sealed class ConsentAuthorizations(IServiceScopeFactory scopeFactory, TrustFrameworkMonitor monitor, TimeProvider timeProvider) : IConsentRevocationObserver
{
    /// <summary>The authorization property naming its consent.</summary>
    public const string ConsentProperty = "consent_id";

    /// <summary>
    /// The <c>sub</c> of consent-bound tokens: a pairwise identifier (OIDC Core §8.1), the SHA-256 of the council's
    /// client id and the consent's subject reference — itself a keyed HMAC of the identity — so never an NI number,
    /// the same for one citizen at one council, and unlinkable between councils.
    /// </summary>
    public static string PairwiseSubject(string clientId, string? subjectReference) =>
        Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(clientId + "\n" + subjectReference)));

    /// <summary>
    /// The principal the authorization endpoint signs in with after Allow: pairwise <c>sub</c>, the granted scopes,
    /// audience <c>eligibility-gateway</c>, and the consent id, kept in the code and refresh token and written into the
    /// access token as <c>authorization_details</c> (RFC 9396 §9.1); attached to a new authorization for the consent.
    /// </summary>
    public async Task<ClaimsPrincipal> AuthoriseAsync(string clientId, Consent consent, IEnumerable<string> scopes, CancellationToken cancellationToken)
    {
        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Subject, Claims.Role);
        identity.SetClaim(Claims.Subject, PairwiseSubject(clientId, consent.SubjectReference));
        identity.SetClaim(TokenHandlers.ConsentIdClaim, consent.ConsentId);
        var principal = new ClaimsPrincipal(identity);
        principal.SetScopes(scopes);
        principal.SetResources(AccessTokenClaims.Audience);
        principal.SetDestinations(static claim => claim.Type switch
        {
            Claims.Subject => [Destinations.AccessToken, Destinations.IdentityToken],
            // Written into the access token as authorization_details (TokenHandlers.AttachAuthorizationDetails).
            TokenHandlers.ConsentIdClaim => [Destinations.AccessToken],
            _ => [],
        });

        await using var scope = scopeFactory.CreateAsyncScope();
        var authorizations = scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>();
        var descriptor = new OpenIddictAuthorizationDescriptor
        {
            ApplicationId = clientId,
            CreationDate = timeProvider.GetUtcNow(),
            Principal = principal,
            Status = Statuses.Valid,
            Subject = principal.GetClaim(Claims.Subject),
            Type = AuthorizationTypes.AdHoc,
        };
        descriptor.Scopes.UnionWith(principal.GetScopes());
        descriptor.Properties[ConsentProperty] = JsonSerializer.SerializeToElement(consent.ConsentId);
        var authorization = await authorizations.CreateAsync(descriptor, cancellationToken);
        principal.SetAuthorizationId(await authorizations.GetIdAsync(authorization, cancellationToken));
        return principal;
    }

    /// <summary>The cascade: the consent's authorization, its codes and its refresh tokens are revoked.</summary>
    public async ValueTask OnConsentRevokedAsync(ConsentRevoked revoked, CancellationToken cancellationToken)
    {
        if (revoked.SubjectReference is null || !monitor.Current.TryGetCouncil(revoked.CouncilId, out var council))
        {
            // Never authorised (nothing was issued), or the council left the framework (its tokens are refused anyway).
            return;
        }

        await using var scope = scopeFactory.CreateAsyncScope();
        var authorizations = scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>();
        var tokens = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
        var subject = PairwiseSubject(council.ClientId, revoked.SubjectReference);
        // Found by subject: the clients are the framework's, so the store links no application row to filter on. Each
        // query is read to the end before anything is changed: a store may not run a command while a query is open.
        var matching = new List<object>();
        await foreach (var authorization in authorizations.FindBySubjectAsync(subject, cancellationToken))
        {
            var properties = await authorizations.GetPropertiesAsync(authorization, cancellationToken);
            if (properties.TryGetValue(ConsentProperty, out var id) && id.ValueKind == JsonValueKind.String && id.GetString() == revoked.ConsentId)
            {
                matching.Add(authorization);
            }
        }

        foreach (var authorization in matching)
        {
            await authorizations.TryRevokeAsync(authorization, cancellationToken);
            var issued = new List<object>();
            await foreach (var token in tokens.FindByAuthorizationIdAsync((await authorizations.GetIdAsync(authorization, cancellationToken))!, cancellationToken))
            {
                issued.Add(token);
            }

            foreach (var token in issued)
            {
                // Codes and refresh tokens die with the consent. Access tokens keep their rows: every use of one reads
                // the consent, so introspection calls it inactive and a check answers 409, which tells the council the
                // consent was withdrawn rather than that a token failed.
                if (!await tokens.HasTypeAsync(token, TokenTypeIdentifiers.AccessToken, cancellationToken))
                {
                    await tokens.TryRevokeAsync(token, cancellationToken);
                }
            }
        }
    }
}
