using EligibilityGateway.Caching;

namespace EligibilityGateway.Consents;

/// <summary>
/// A consent was revoked: the store says so and the audit log has recorded it. No personal data: the citizen is
/// known by subject reference, and the answer cache entry obtained under the consent by its opaque key.
/// </summary>
/// <param name="ConsentId">The revoked consent.</param>
/// <param name="CouncilId">The council that held it.</param>
/// <param name="SchemeId">Its scheme.</param>
/// <param name="SubjectReference">The bound citizen's subject reference; null when it was revoked before authorisation.</param>
/// <param name="AnswerKey">
/// The only cache key answers under this consent can have (council, scheme, consent and the bound subject are all
/// fixed by the consent); null when it was revoked before authorisation, so nothing can have been cached.
/// </param>
/// <param name="By">Who revoked it.</param>
/// <param name="RevokedAt">When.</param>
internal sealed record ConsentRevoked(
    string ConsentId, string CouncilId, string SchemeId, string? SubjectReference, CacheKey? AnswerKey, ConsentRevoker By, DateTimeOffset RevokedAt);

/// <summary>
/// Told of every revocation, after it is committed and recorded (README.md). The token layer
/// implements this to make tokens issued under the consent inactive; the cache layer to purge <see cref="ConsentRevoked.AnswerKey"/>.
/// Register with <c>services.AddSingleton&lt;IConsentRevocationObserver, …&gt;()</c>: every registered observer is
/// awaited in turn by <see cref="ConsentService.RevokeAsync"/>. An observer that throws is logged (event 1711) and
/// the others still run; the revocation stands either way, and checks under it are already refused because they
/// read the consent's state from the store on every request.
/// </summary>
internal interface IConsentRevocationObserver
{
    ValueTask OnConsentRevokedAsync(ConsentRevoked revoked, CancellationToken cancellationToken);
}
