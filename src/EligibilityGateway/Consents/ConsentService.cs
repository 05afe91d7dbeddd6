using System.Diagnostics;
using EligibilityGateway.Audit;
using EligibilityGateway.Caching;
using EligibilityGateway.Checks;
using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Consents;

/// <summary>The council creating a consent, resolved from its token in the framework in force.</summary>
internal sealed record ConsentCaller(Council Council, string ClientId, string? TraceId);

/// <summary>A validated <c>POST /v1/consents</c> body.</summary>
/// <param name="ExpiresAt">What the council asked for; capped by the scheme's maximum consent duration.</param>
internal sealed record NewConsent(string SchemeId, string CaseReference, DateTimeOffset? ExpiresAt);

/// <summary>How a creation went; each case maps to one HTTP answer.</summary>
internal abstract record ConsentCreation
{
    private ConsentCreation()
    {
    }

    /// <summary>Created and recorded.</summary>
    public sealed record Created(Consent Consent) : ConsentCreation;

    /// <summary>The trust framework does not let this council ask for this scheme under consent.</summary>
    public sealed record Denied(string Rule) : ConsentCreation;

    /// <summary>The audit log could not record the creation, so the consent does not exist.</summary>
    public sealed record AuditUnavailable : ConsentCreation;
}

/// <summary>How a requested transition went. Invalid transitions are a value (<see cref="Refused"/>), never an exception.</summary>
internal abstract record ConsentChange
{
    private ConsentChange()
    {
    }

    /// <summary>The transition was made and recorded; <paramref name="Consent"/> is the new state.</summary>
    public sealed record Made(Consent Consent) : ConsentChange;

    /// <summary>The consent was already in the requested state (revoking twice); nothing was done.</summary>
    public sealed record Unchanged(Consent Consent) : ConsentChange;

    /// <summary>Not allowed from the consent's current state; <paramref name="Reason"/> says why in plain words.</summary>
    public sealed record Refused(Consent Consent, ConsentStatus Status, string Reason) : ConsentChange;

    /// <summary>No consent with this id.</summary>
    public sealed record NotFound : ConsentChange;

    /// <summary>The audit log could not record the transition, so it was undone.</summary>
    public sealed record AuditUnavailable : ConsentChange;
}

/// <summary>Whether a check may run under a consent, and about whom.</summary>
internal abstract record ConsentForCheck
{
    private ConsentForCheck()
    {
    }

    /// <summary>Authorised and unexpired; <paramref name="Subject"/> is the bound citizen, opened for this check only.</summary>
    public sealed record Usable(Consent Consent, Subject Subject) : ConsentForCheck;

    /// <summary>
    /// Not usable: <paramref name="Status"/> is its state now; <paramref name="Reason"/> says why.
    /// <paramref name="Unreadable"/>: authorised, but the identity bound to it does not open.
    /// </summary>
    public sealed record NotUsable(Consent Consent, ConsentStatus Status, string Reason, bool Unreadable = false) : ConsentForCheck;

    /// <summary>No such consent for this council.</summary>
    public sealed record NotFound : ConsentForCheck;
}

/// <summary>
/// Consent resources and their state machine (README.md): creation by a council, the citizen's
/// authorisation or rejection, revocation by either, and expiry. Each transition is a compare-and-set in the store
/// followed by its audit record; one that widens sharing (creation, authorisation) or that the log cannot record is
/// undone, so the store never holds a transition the audit log lacks for longer than the append takes. Expiry is
/// decided by the injected clock whenever a consent is read, and recorded once, by whichever read sees it first.
/// </summary>
internal sealed class ConsentService(
    IConsentStore store,
    PolicyEngine policy,
    TrustFrameworkMonitor frameworks,
    ConsentSubjectProtector protector,
    SubjectReferences subjectReferences,
    CacheKeys cacheKeys,
    IAuditLog audit,
    IEnumerable<IConsentRevocationObserver> revocationObservers,
    TimeProvider timeProvider,
    ILogger<ConsentService> logger)
{
    private readonly IConsentRevocationObserver[] observers = [.. revocationObservers];

    /// <summary>Creates a consent awaiting authorisation, if the trust framework permits <c>consent</c> for this council and scheme.</summary>
    public async Task<ConsentCreation> CreateAsync(ConsentCaller caller, NewConsent request, CancellationToken cancellationToken)
    {
        var decision = policy.Decide(caller.Council.Id, request.SchemeId, LawfulBasisNames.Consent);
        if (!decision.IsAllowed)
        {
            Log.CreationDenied(logger, caller.Council.Id, request.SchemeId, decision.Rule);
            return new ConsentCreation.Denied(decision.Rule);
        }

        var grant = decision.Grant;
        var now = timeProvider.GetUtcNow();
        var longest = now + grant.Scheme.MaxConsentDuration;
        var consent = new Consent
        {
            ConsentId = Guid.CreateVersion7(now).ToString(),
            CouncilId = caller.Council.Id,
            ClientId = caller.ClientId,
            SchemeId = grant.Scheme.Id,
            Purpose = grant.Purpose,
            CaseReference = request.CaseReference,
            Providers = [.. grant.Providers.Select(p => p.Id)],
            Released = [.. grant.Release.Select(ReleasedFieldName)],
            FrameworkId = grant.FrameworkId,
            FrameworkVersion = grant.FrameworkVersion,
            Status = ConsentStatus.AwaitingAuthorisation,
            CreatedAt = now,
            ExpiresAt = request.ExpiresAt is { } asked && asked < longest ? asked : longest,
        };

        await store.InsertAsync(consent, cancellationToken);
        try
        {
            await audit.AppendAsync(Entry(AuditEventTypes.ConsentCreated, consent, caller.ClientId, caller.TraceId) with
            {
                Decision = AuditDecisions.Allow,
                Rule = decision.Rule,
                FrameworkId = grant.FrameworkId,
                FrameworkVersion = grant.FrameworkVersion,
            }, cancellationToken);
        }
        catch (AuditUnavailableException)
        {
            await store.DeleteUnansweredAsync(consent.ConsentId, CancellationToken.None);
            Log.TransitionNotRecorded(logger, consent.ConsentId, "creation");
            return new ConsentCreation.AuditUnavailable();
        }

        Log.Transitioned(logger, consent.ConsentId, consent.CouncilId, consent.SchemeId, "none", consent.Status.ToName());
        return new ConsentCreation.Created(consent);
    }

    /// <summary>The consent, with its expiry recorded if this is the first read to see it; null when there is none.</summary>
    public async Task<Consent?> FindAsync(string consentId, CancellationToken cancellationToken)
    {
        var consent = await store.FindAsync(consentId, cancellationToken);
        return consent is null ? null : await RecordExpiryIfDueAsync(consent, cancellationToken);
    }

    /// <summary>
    /// The citizen pressed Allow: binds <paramref name="subject"/>, their verified identity, and
    /// <paramref name="citizenId"/>, their account at the sign-in provider, and sets it <c>authorised</c>. Only a
    /// consent awaiting authorisation, and not past its expiry, can be authorised.
    /// </summary>
    public async Task<ConsentChange> AuthoriseAsync(string consentId, Subject subject, string citizenId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentException.ThrowIfNullOrEmpty(citizenId);
        if (await FindAsync(consentId, cancellationToken) is not { } current)
        {
            return new ConsentChange.NotFound();
        }

        var now = timeProvider.GetUtcNow();
        var status = current.StatusAt(now);
        if (status != ConsentStatus.AwaitingAuthorisation)
        {
            return Refuse(current, status, "authorise", $"Only a consent awaiting authorisation can be authorised; this one is {status.ToName()}.");
        }

        var authorised = current with
        {
            Status = ConsentStatus.Authorised,
            AuthorisedAt = now,
            SubjectReference = subjectReferences.Compute(subject),
            SealedSubject = protector.Seal(consentId, new ConsentedSubject(subject, citizenId)),
        };
        return await TransitionAsync(current, authorised, AuditEventTypes.ConsentAuthorised, clientId: null, cancellationToken);
    }

    /// <summary>The citizen pressed Deny: <c>awaiting-authorisation</c> → <c>rejected</c>.</summary>
    public async Task<ConsentChange> RejectAsync(string consentId, CancellationToken cancellationToken = default)
    {
        if (await FindAsync(consentId, cancellationToken) is not { } current)
        {
            return new ConsentChange.NotFound();
        }

        var now = timeProvider.GetUtcNow();
        var status = current.StatusAt(now);
        if (status != ConsentStatus.AwaitingAuthorisation)
        {
            return Refuse(current, status, "reject", $"Only a consent awaiting authorisation can be rejected; this one is {status.ToName()}.");
        }

        var rejected = current with { Status = ConsentStatus.Rejected, RejectedAt = now };
        return await TransitionAsync(current, rejected, AuditEventTypes.ConsentRejected, clientId: null, cancellationToken);
    }

    /// <summary>
    /// Withdraws the consent (README.md), by the citizen or the council: <c>authorised</c> (or a request still
    /// <c>awaiting-authorisation</c>) → <c>revoked</c>. Revoking a revoked consent changes nothing
    /// (<see cref="ConsentChange.Unchanged"/>). Once made, every <see cref="IConsentRevocationObserver"/> is told.
    /// </summary>
    public async Task<ConsentChange> RevokeAsync(string consentId, ConsentRevoker by, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(by);
        if (await FindAsync(consentId, cancellationToken) is not { } current)
        {
            return new ConsentChange.NotFound();
        }

        var now = timeProvider.GetUtcNow();
        var status = current.StatusAt(now);
        if (status == ConsentStatus.Revoked)
        {
            return new ConsentChange.Unchanged(current);
        }

        if (status.IsFinal())
        {
            return Refuse(current, status, "revoke", $"A consent that is {status.ToName()} cannot be revoked; it can no longer be used.");
        }

        var revoked = current with { Status = ConsentStatus.Revoked, RevokedAt = now, RevokedBy = by.Name };
        var change = await TransitionAsync(current, revoked, AuditEventTypes.ConsentRevoked, by.ClientId, cancellationToken);
        switch (change)
        {
            case ConsentChange.Made:
                await NotifyRevokedAsync(revoked, by, cancellationToken);
                break;
            case ConsentChange.Refused { Status: ConsentStatus.Revoked } raced:
                // Revoked by someone else between our read and our write: the outcome the caller wanted.
                return new ConsentChange.Unchanged(raced.Consent);
        }

        return change;
    }

    /// <summary>
    /// The consent a check under <paramref name="consentId"/> runs with, read from the store now (so a revocation
    /// on any replica is seen by the next check), and its bound subject opened. Another council's consent is not found.
    /// </summary>
    public async Task<ConsentForCheck> OpenForCheckAsync(string consentId, string councilId, CancellationToken cancellationToken)
    {
        if (await FindAsync(consentId, cancellationToken) is not { } consent || !string.Equals(consent.CouncilId, councilId, StringComparison.Ordinal))
        {
            return new ConsentForCheck.NotFound();
        }

        var status = consent.StatusAt(timeProvider.GetUtcNow());
        if (status != ConsentStatus.Authorised)
        {
            return new ConsentForCheck.NotUsable(consent, status, $"The consent is {status.ToName()}.");
        }

        if (TryOpenSubject(consent) is not { } subject)
        {
            Log.SubjectUnreadable(logger, consent.ConsentId);
            return new ConsentForCheck.NotUsable(consent, status, "The identity bound to this consent cannot be read; the citizen needs to authorise a new consent.", Unreadable: true);
        }

        return new ConsentForCheck.Usable(consent, subject.Subject);
    }

    /// <summary>
    /// Counts one check under the consent, atomically with a last test that it is still authorised and unexpired;
    /// when a revocation or expiry got in first, says so instead.
    /// </summary>
    public async Task<ConsentForCheck> CountUseAsync(ConsentForCheck.Usable usable, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (await store.TryCountUseAsync(usable.Consent.ConsentId, now, cancellationToken) is { } count)
        {
            return usable with { Consent = usable.Consent with { UsageCount = count, LastUsedAt = now } };
        }

        var current = await FindAsync(usable.Consent.ConsentId, cancellationToken) ?? usable.Consent;
        var status = current.StatusAt(timeProvider.GetUtcNow());
        return new ConsentForCheck.NotUsable(current, status, $"The consent is {status.ToName()}.");
    }

    /// <summary>Opens the citizen bound to an authorised consent; null when none is bound or it does not open.</summary>
    public ConsentedSubject? TryOpenSubject(Consent consent) =>
        consent.SealedSubject is { } sealedSubject && protector.TryOpen(consent.ConsentId, sealedSubject, out var subject) ? subject : null;

    private async Task<Consent> RecordExpiryIfDueAsync(Consent consent, CancellationToken cancellationToken)
    {
        if (consent.Status.IsFinal() || consent.StatusAt(timeProvider.GetUtcNow()) != ConsentStatus.Expired)
        {
            return consent;
        }

        return await TransitionAsync(consent, consent with { Status = ConsentStatus.Expired }, AuditEventTypes.ConsentExpired, clientId: null, cancellationToken) switch
        {
            ConsentChange.Made made => made.Consent,
            ConsentChange.Refused refused => refused.Consent,
            // Not recorded this time, so left as stored for the next read to record; it reads as expired all the same.
            _ => consent,
        };
    }

    /// <summary>Compare-and-set from <paramref name="from"/>'s state to <paramref name="to"/>'s, then the audit record; undone if the record cannot be made.</summary>
    private async Task<ConsentChange> TransitionAsync(Consent from, Consent to, string eventType, string? clientId, CancellationToken cancellationToken)
    {
        if (!await store.TryChangeStateAsync(from.ConsentId, from.Status, to, cancellationToken))
        {
            if (await store.FindAsync(from.ConsentId, cancellationToken) is not { } current)
            {
                return new ConsentChange.NotFound();
            }

            var status = current.StatusAt(timeProvider.GetUtcNow());
            return Refuse(current, status, eventType, $"The consent changed meanwhile; it is now {status.ToName()}.");
        }

        try
        {
            await audit.AppendAsync(Entry(eventType, to, clientId, CheckService.CurrentTraceId()), cancellationToken);
        }
        catch (AuditUnavailableException)
        {
            await store.TryChangeStateAsync(to.ConsentId, to.Status, from, CancellationToken.None);
            Log.TransitionNotRecorded(logger, to.ConsentId, eventType);
            return new ConsentChange.AuditUnavailable();
        }

        Log.Transitioned(logger, to.ConsentId, to.CouncilId, to.SchemeId, from.Status.ToName(), to.Status.ToName());
        return new ConsentChange.Made(to);
    }

    private async Task NotifyRevokedAsync(Consent revoked, ConsentRevoker by, CancellationToken cancellationToken)
    {
        if (observers.Length == 0)
        {
            return;
        }

        CacheKey? answerKey = TryOpenSubject(revoked) is { } bound ? cacheKeys.For(revoked.CouncilId, revoked.SchemeId, revoked.ConsentId, bound.Subject) : null;
        var notice = new ConsentRevoked(revoked.ConsentId, revoked.CouncilId, revoked.SchemeId, revoked.SubjectReference, answerKey, by, revoked.RevokedAt!.Value);
        foreach (var observer in observers)
        {
            try
            {
                await observer.OnConsentRevokedAsync(notice, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.ObserverFailed(logger, revoked.ConsentId, observer.GetType().Name, ex);
            }
        }
    }

    private ConsentChange.Refused Refuse(Consent consent, ConsentStatus status, string operation, string reason)
    {
        Log.TransitionRefused(logger, consent.ConsentId, operation, status.ToName());
        return new ConsentChange.Refused(consent, status, reason);
    }

    private AuditEntry Entry(string eventType, Consent consent, string? clientId, string? traceId)
    {
        var framework = frameworks.TryGetCurrent(out var snapshot) ? snapshot.Definition : null;
        return new AuditEntry
        {
            EventType = eventType,
            CouncilId = consent.CouncilId,
            ClientId = clientId,
            SchemeId = consent.SchemeId,
            Purpose = consent.Purpose,
            LawfulBasis = consent.LawfulBasis,
            ConsentId = consent.ConsentId,
            CaseReference = consent.CaseReference,
            SubjectReference = consent.SubjectReference,
            TraceId = traceId ?? Activity.Current?.TraceId.ToHexString(),
            FrameworkId = framework?.Id ?? consent.FrameworkId,
            FrameworkVersion = framework?.Version ?? consent.FrameworkVersion,
        };
    }

    private static string ReleasedFieldName(ReleasedField field) => field switch
    {
        ReleasedField.Outcome => "outcome",
        ReleasedField.ConfirmedBy => "confirmed-by",
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };
}
