namespace EligibilityGateway.Consents;

/// <summary>
/// Where consent records live: SQLite by default (<see cref="SqliteConsentStore"/>), or PostgreSQL shared by every
/// replica (<see cref="PostgresConsentStore"/>). Every state change is a compare-and-set on the stored status, so two replicas (or a revocation
/// racing an authorisation) can never both win; usage is counted by one atomic statement that also refuses a consent
/// that is no longer authorised. Stores keep what <see cref="Consent"/> holds and nothing more.
/// </summary>
internal interface IConsentStore
{
    /// <summary>Creates or migrates the schema; called once at start-up.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Adds a new consent (its id is fresh).</summary>
    ValueTask InsertAsync(Consent consent, CancellationToken cancellationToken);

    /// <summary>Removes a consent that is still awaiting authorisation and unused: undoes a creation that could not be audited.</summary>
    ValueTask<bool> DeleteUnansweredAsync(string consentId, CancellationToken cancellationToken);

    /// <summary>The consent, or null when there is none with this id.</summary>
    ValueTask<Consent?> FindAsync(string consentId, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="to"/>'s state (status, authorised/rejected/revoked times, revoker, subject reference and
    /// sealed subject) if the stored status is still <paramref name="expected"/>; false when it is not.
    /// </summary>
    ValueTask<bool> TryChangeStateAsync(string consentId, ConsentStatus expected, Consent to, CancellationToken cancellationToken);

    /// <summary>
    /// Adds one to the usage count if, at <paramref name="now"/>, the consent is authorised and not expired; returns the
    /// new count, or null when it is not usable (revoked, expired, …) or absent.
    /// </summary>
    ValueTask<long?> TryCountUseAsync(string consentId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Every consent bound to the citizen with <paramref name="subjectReference"/> (authorised at some point), newest
    /// first: what the citizen's account lists (README.md). Consents never authorised are bound to nobody and absent.
    /// </summary>
    ValueTask<IReadOnlyList<Consent>> ListBySubjectReferenceAsync(string subjectReference, CancellationToken cancellationToken);
}
