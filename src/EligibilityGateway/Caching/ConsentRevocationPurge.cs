using EligibilityGateway.Consents;

namespace EligibilityGateway.Caching;

/// <summary>
/// The cache's part of the revocation cascade (README.md): when a consent is revoked, deletes the one answer that can
/// have been cached under it (<see cref="ConsentRevoked.AnswerKey"/>) from the store, records the revocation in this
/// replica's <see cref="RevokedConsents"/>, and, with Redis, announces it to every other replica
/// (<see cref="RedisRevocationChannel"/>). Fails open like the rest of the cache: a store that cannot be reached is
/// logged, and the answer then lives at most until its TTL, never served under the consent because every check under
/// it is refused by the consent store first.
/// </summary>
internal sealed class ConsentRevocationPurge(
    ICacheStore store,
    RevokedConsents revoked,
    RedisRevocationChannel channel,
    ILogger<ConsentRevocationPurge> logger) : IConsentRevocationObserver
{
    public async ValueTask OnConsentRevokedAsync(ConsentRevoked notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notice);
        revoked.Record(notice.ConsentId, notice.CouncilId, announcedByAnotherReplica: false);
        if (notice.AnswerKey is { } key)
        {
            if (await store.DeleteAsync(key.Value, cancellationToken))
            {
                Log.AnswerPurged(logger, notice.ConsentId, store.Name);
            }
            else
            {
                Log.AnswerNotPurged(logger, notice.ConsentId, store.Name);
            }
        }

        if (channel.IsEnabled)
        {
            await channel.PublishAsync(notice.ConsentId, notice.CouncilId, cancellationToken);
        }
    }
}
