using System.Collections.Immutable;
using System.Diagnostics;
using EligibilityGateway.Audit;
using EligibilityGateway.BulkChecks;
using EligibilityGateway.Caching;
using EligibilityGateway.Consents;
using EligibilityGateway.Providers;
using EligibilityGateway.Telemetry;
using EligibilityGateway.TrustFramework;

namespace EligibilityGateway.Checks;

/// <summary>Who is asking: the council, resolved from the token's client in the framework in force.</summary>
internal sealed record CheckCaller(Council Council, string ClientId, string? TraceId);

/// <summary>What a check came to; each case maps to one HTTP answer in <see cref="CheckEndpoints"/>.</summary>
internal abstract record CheckResult
{
    private CheckResult()
    {
    }

    /// <summary>Allowed, answered and recorded.</summary>
    public sealed record Answered(CheckResponse Response) : CheckResult;

    /// <summary>Refused by the rule named (recorded).</summary>
    public sealed record Denied(string Rule) : CheckResult;

    /// <summary>Over the council's limit for the scheme (not recorded: no data was looked at).</summary>
    public sealed record RateLimited(TimeSpan RetryAfter) : CheckResult;

    /// <summary>The audit log could not record the check, so nothing is released.</summary>
    public sealed record AuditUnavailable : CheckResult;

    /// <summary>The token's consent is not authorised, or is expired or revoked (recorded). <paramref name="Status"/> names its state.</summary>
    public sealed record ConsentNotUsable(string ConsentId, string Status, string Reason) : CheckResult;
}

/// <summary>
/// Holds a bulk item's share of the providers while they are asked (BulkChecks/README.md, "Lanes"): returns once the
/// item may call every provider the scheme asks about <paramref name="subject"/>, and releases them on dispose.
/// </summary>
internal delegate ValueTask<IDisposable> ProviderGate(PolicyGrant grant, Subject subject, CancellationToken cancellationToken);

/// <summary>One item of a bulk check, as <see cref="CheckService.RunBulkItemAsync"/> takes it.</summary>
/// <param name="CheckId">Given to the item when the job was accepted, so that a resumed job finds the item's audit record.</param>
internal sealed record BulkItemCheck(string CheckId, ValidCheckRequest Request);

/// <summary>Rules the check path itself decides by, beside the trust framework's (<see cref="PolicyRules"/>).</summary>
internal static class CheckRules
{
    /// <summary>
    /// <c>lawfulBasis: consent</c> on a client-credentials token: the basis is allowed, but consent exists only as a
    /// consent resource the citizen authorised, carried by a consent-bound token (Consents/README.md).
    /// </summary>
    public const string ConsentNotPresented = "deny:consent-not-presented";

    /// <summary>The token names a consent this council does not hold (it never existed, or another council holds it).</summary>
    public const string ConsentUnknown = "deny:consent-unknown";

    /// <summary>The token's consent was given for another scheme than the one asked about.</summary>
    public const string ConsentForOtherScheme = "deny:consent-for-other-scheme";

    /// <summary>The token's consent cannot be used in its state: <c>deny:consent-revoked</c>, <c>deny:consent-expired</c>, ….</summary>
    public static string ConsentNotUsable(string status) => $"deny:consent-{status}";

    /// <summary>The token's consent is authorised, but the identity bound to it cannot be read.</summary>
    public const string ConsentUnreadable = "deny:consent-unreadable";
}

/// <summary>
/// One check, start to finish: policy → rate limit → cache or providers → audit → response (README.md). Each step
/// is a method below, in that order; nothing is returned to the council before its audit record is committed.
/// </summary>
internal sealed class CheckService(
    PolicyEngine policy,
    TrustFrameworkMonitor frameworks,
    CheckRateLimiter rateLimiter,
    CacheKeys cacheKeys,
    IAnswerCache cache,
    SchemeEvaluator providers,
    SubjectReferences subjectReferences,
    IAuditLog audit,
    SingleFlight<CacheKey, SchemeAnswer> inFlight,
    BulkLane lanes,
    ConsentService consents,
    GatewayMetrics metrics,
    TimeProvider timeProvider,
    ILogger<CheckService> logger)
{
    public async Task<CheckResult> RunAsync(CheckCaller caller, ValidCheckRequest request, CancellationToken cancellationToken)
    {
        var subjectReference = subjectReferences.Compute(request.Subject);
        var decision = Decide(caller, request);
        if (!decision.IsAllowed)
        {
            return await RecordDenialAsync(caller, request, subjectReference, decision.Rule, consentId: null, cancellationToken);
        }

        var grant = decision.Grant;
        if (await rateLimiter.TryAcquireAsync(caller.Council.Id, grant.Scheme.Id, grant.RateLimit, cancellationToken) is { Acquired: false } limited)
        {
            Log.RateLimited(logger, caller.Council.Id, grant.Scheme.Id);
            return new CheckResult.RateLimited(limited.RetryAfter);
        }

        var answer = await AnswerAsync(caller, grant, request.Subject, consent: null, cancellationToken);
        return await RecordAnswerAsync(caller, request, grant, decision.Rule, subjectReference, answer, consentId: null, cancellationToken);
    }

    /// <summary>
    /// One item of a bulk check: exactly a single check (policy → rate limit → cache or providers → audit), except
    /// that it waits for the council's rate limit instead of being refused, asks the providers only through
    /// <paramref name="gate"/> (the bulk lane), and is recorded under the check id the item was given when the job
    /// was accepted. Returns only after the audit record is committed.
    /// </summary>
    /// <param name="beforeAsking">Cancels the waits before anything is asked or recorded (the rate limit), so that a
    /// cancelled job stops its waiting items; <paramref name="gate"/> is given it too.</param>
    public async Task<CheckResult> RunBulkItemAsync(
        CheckCaller caller, BulkItemCheck item, ProviderGate gate, CancellationToken beforeAsking, CancellationToken cancellationToken)
    {
        var request = item.Request;
        var subjectReference = subjectReferences.Compute(request.Subject);
        var decision = Decide(caller, request);
        if (!decision.IsAllowed)
        {
            return await RecordDenialAsync(caller, request, subjectReference, decision.Rule, consentId: null, cancellationToken);
        }

        var grant = decision.Grant;
        // One permit per item, from the same windows single checks use; a bulk job paces itself rather than fail.
        while (await rateLimiter.TryAcquireAsync(caller.Council.Id, grant.Scheme.Id, grant.RateLimit, beforeAsking) is { Acquired: false } limited)
        {
            await Task.Delay(limited.RetryAfter > TimeSpan.Zero ? limited.RetryAfter : TimeSpan.FromMilliseconds(100), timeProvider, beforeAsking);
        }

        var answer = await AnswerAsync(caller, grant, request.Subject, consent: null, cancellationToken, gate);
        return await RecordAnswerAsync(caller, request, grant, decision.Rule, subjectReference, answer, consentId: null, cancellationToken, item.CheckId);
    }

    /// <summary>
    /// A check with a consent-bound token (Consents/README.md): the consent → policy → rate limit → the consent's use
    /// counted → cache or providers → audit → response. The consent is read from the store on every check, so a
    /// revocation or expiry refuses the very next one (409); the subject is the citizen who authorised it.
    /// </summary>
    public async Task<CheckResult> RunUnderConsentAsync(CheckCaller caller, string consentId, ValidConsentCheckRequest request, CancellationToken cancellationToken)
    {
        // Step 0: the consent, usable now, and whom it is about.
        var opened = await consents.OpenForCheckAsync(consentId, caller.Council.Id, cancellationToken);
        if (opened is not ConsentForCheck.Usable usable)
        {
            return await RefuseUnderConsentAsync(caller, request, consentId, subjectReference: null, opened, cancellationToken);
        }

        var consent = usable.Consent;
        var checkRequest = new ValidCheckRequest(request.SchemeId, LawfulBasisNames.Consent, request.CaseReference, usable.Subject);
        var subjectReference = subjectReferences.Compute(usable.Subject);
        if (!string.Equals(request.SchemeId, consent.SchemeId, StringComparison.Ordinal))
        {
            return await RecordDenialAsync(caller, checkRequest, subjectReference, CheckRules.ConsentForOtherScheme, consentId, cancellationToken);
        }

        // Step 1: the trust framework must still permit consent for this council and scheme.
        var decision = DecideTraced(caller.Council.Id, request.SchemeId, LawfulBasisNames.Consent);
        if (!decision.IsAllowed)
        {
            return await RecordDenialAsync(caller, checkRequest, subjectReference, decision.Rule, consentId, cancellationToken);
        }

        var grant = decision.Grant;
        if (await rateLimiter.TryAcquireAsync(caller.Council.Id, grant.Scheme.Id, grant.RateLimit, cancellationToken) is { Acquired: false } limited)
        {
            Log.RateLimited(logger, caller.Council.Id, grant.Scheme.Id);
            return new CheckResult.RateLimited(limited.RetryAfter);
        }

        // The use is counted in the same statement that tests the consent is still authorised, so a revocation
        // that lands after step 0 still stops this check before any provider is asked.
        var counting = await consents.CountUseAsync(usable, cancellationToken);
        if (counting is not ConsentForCheck.Usable counted)
        {
            return await RefuseUnderConsentAsync(caller, request, consentId, subjectReference, counting, cancellationToken);
        }

        var answer = await AnswerAsync(caller, grant, usable.Subject, counted.Consent, cancellationToken);
        return await RecordAnswerAsync(caller, checkRequest, grant, decision.Rule, subjectReference, answer, consentId, cancellationToken);
    }

    /// <summary>A consent that is unknown to this council (403) or not usable now (409), recorded like any denied check.</summary>
    private async Task<CheckResult> RefuseUnderConsentAsync(
        CheckCaller caller, ValidConsentCheckRequest request, string consentId, string? subjectReference, ConsentForCheck refusal, CancellationToken cancellationToken)
    {
        var (rule, notUsable) = refusal switch
        {
            ConsentForCheck.NotUsable { Unreadable: true } unreadable => (CheckRules.ConsentUnreadable, unreadable),
            ConsentForCheck.NotUsable other => (CheckRules.ConsentNotUsable(other.Status.ToName()), other),
            _ => (CheckRules.ConsentUnknown, null),
        };
        var denial = await RecordDenialAsync(
            caller, request.SchemeId, LawfulBasisNames.Consent, request.CaseReference, subjectReference ?? notUsable?.Consent.SubjectReference, rule, consentId, cancellationToken);
        return denial is CheckResult.Denied && notUsable is not null
            ? new CheckResult.ConsentNotUsable(consentId, notUsable.Status.ToName(), notUsable.Reason)
            : denial;
    }

    /// <summary>Step 1: the trust framework decides, then the check path's own consent rule.</summary>
    private PolicyDecision Decide(CheckCaller caller, ValidCheckRequest request)
    {
        var decision = DecideTraced(caller.Council.Id, request.SchemeId, request.LawfulBasis);
        return decision.IsAllowed && decision.Grant.LawfulBasis.Basis == LawfulBasis.Consent
            ? PolicyDecision.Deny(CheckRules.ConsentNotPresented)
            : decision;
    }

    private PolicyDecision DecideTraced(string councilId, string schemeId, string lawfulBasis)
    {
        using var activity = GatewayTelemetry.ActivitySource.StartActivity("policy decide");
        var decision = policy.Decide(councilId, schemeId, lawfulBasis);
        activity?.SetTag("eligibility_gateway.scheme", schemeId);
        activity?.SetTag("eligibility_gateway.rule", decision.Rule);
        return decision;
    }

    /// <summary>
    /// Step 2: the cache, else the providers (one call shared by identical concurrent checks). Under a consent the
    /// key includes the consent id and nothing is kept past the consent's expiry (Caching/README.md, "TTL").
    /// </summary>
    private async Task<Answer> AnswerAsync(
        CheckCaller caller, PolicyGrant grant, Subject subject, Consent? consent, CancellationToken cancellationToken, ProviderGate? gate = null)
    {
        var key = cacheKeys.For(caller.Council.Id, grant.Scheme.Id, consent?.ConsentId, subject);
        var cached = GatewayTelemetry.ActivitySource.HasListeners()
            ? await LookUpTracedAsync(key, cancellationToken)
            : await cache.GetAsync(key, cancellationToken);
        if (cached is not null)
        {
            return new Answer(cached.Outcome, cached.ConfirmedBy, cached.CheckedAt, cached.ValidUntil, AuditServedFrom.Cache, []);
        }

        // Identical concurrent checks (same council, scheme and subject: the same cache key) share one provider call.
        var checkedAt = timeProvider.GetUtcNow();
        var ttl = CacheTtl(grant.Scheme, consent, checkedAt);
        var live = await inFlight.RunAsync(key, async ct =>
        {
            SchemeAnswer fresh;
            if (gate is null)
            {
                // Counted, never held up: bulk items leave the slots single checks use (BulkChecks/README.md, "Lanes").
                using var single = lanes.EnterSingle(grant, subject);
                fresh = await providers.EvaluateAsync(grant, subject, ct);
            }
            else
            {
                using var lane = await gate(grant, subject, ct);
                fresh = await providers.EvaluateAsync(grant, subject, ct);
            }

            foreach (var call in fresh.Calls)
            {
                metrics.ProviderAnswered(call);
            }

            await CacheAsync(key, fresh, checkedAt, ttl, ct);
            return fresh;
        }, cancellationToken);

        return new Answer(live.Outcome, live.ConfirmedBy, checkedAt, ValidUntil(live.Outcome, checkedAt, ttl), AuditServedFrom.Live, live.Calls);
    }

    private async ValueTask<CachedAnswer?> LookUpTracedAsync(CacheKey key, CancellationToken cancellationToken)
    {
        using var activity = GatewayTelemetry.ActivitySource.StartActivity("cache lookup");
        var found = await cache.GetAsync(key, cancellationToken);
        activity?.SetTag("eligibility_gateway.cache.hit", found is not null);
        return found;
    }

    /// <summary>At most the scheme's cache TTL, and under a consent never past the consent's expiry.</summary>
    private static TimeSpan CacheTtl(Scheme scheme, Consent? consent, DateTimeOffset checkedAt)
    {
        var ttl = scheme.CacheTtl;
        if (consent is not null && consent.ExpiresAt - checkedAt < ttl)
        {
            ttl = consent.ExpiresAt - checkedAt;
        }

        return ttl < TimeSpan.Zero ? TimeSpan.Zero : ttl;
    }

    /// <summary>Definite answers are kept for <paramref name="ttl"/>; an undetermined one never is.</summary>
    private async Task CacheAsync(CacheKey key, SchemeAnswer answer, DateTimeOffset checkedAt, TimeSpan ttl, CancellationToken cancellationToken)
    {
        if (answer.Outcome == Outcome.Undetermined || ttl <= TimeSpan.Zero)
        {
            return;
        }

        var validUntil = checkedAt + ttl;
        await cache.SetAsync(key, new CachedAnswer(answer.Outcome, answer.ConfirmedBy, checkedAt, validUntil), ttl, cancellationToken);
    }

    private static DateTimeOffset ValidUntil(Outcome outcome, DateTimeOffset checkedAt, TimeSpan ttl) =>
        outcome == Outcome.Undetermined ? checkedAt : checkedAt + ttl;

    /// <summary>Step 3a: an allowed check is recorded; only then is its answer released.</summary>
    private async Task<CheckResult> RecordAnswerAsync(
        CheckCaller caller, ValidCheckRequest request, PolicyGrant grant, string rule, string subjectReference, Answer answer, string? consentId,
        CancellationToken cancellationToken, string? checkId = null)
    {
        checkId ??= Guid.CreateVersion7(timeProvider.GetUtcNow()).ToString();
        var releasesConfirmedBy = grant.Release.Contains(ReleasedField.ConfirmedBy);
        var entry = new AuditEntry
        {
            EventType = AuditEventTypes.Check,
            CheckId = checkId,
            CouncilId = caller.Council.Id,
            ClientId = caller.ClientId,
            SchemeId = grant.Scheme.Id,
            Purpose = grant.Purpose,
            LawfulBasis = request.LawfulBasis,
            ConsentId = consentId,
            CaseReference = request.CaseReference,
            Decision = AuditDecisions.Allow,
            Rule = rule,
            Outcome = answer.Outcome,
            ServedFrom = answer.ServedFrom,
            ProviderCalls = answer.Calls,
            TraceId = caller.TraceId,
            SubjectReference = subjectReference,
            CheckedAt = answer.CheckedAt,
            ValidUntil = answer.ValidUntil,
            ConfirmedBy = releasesConfirmedBy ? answer.ConfirmedBy : null,
            FrameworkId = grant.FrameworkId,
            FrameworkVersion = grant.FrameworkVersion,
        };

        AuditReceipt receipt;
        try
        {
            receipt = await audit.AppendAsync(entry, cancellationToken);
        }
        catch (AuditUnavailableException)
        {
            Log.AuditUnavailable(logger, caller.Council.Id, grant.Scheme.Id);
            return new CheckResult.AuditUnavailable();
        }

        metrics.CheckAllowed(caller.Council.Id, grant.Scheme.Id, answer.Outcome, answer.ServedFrom);
        Log.Answered(logger, caller.Council.Id, grant.Scheme.Id, answer.Outcome.ToName(), answer.ServedFrom, receipt.Sequence);
        return new CheckResult.Answered(new CheckResponse(
            checkId,
            grant.Scheme.Id,
            answer.Outcome.ToName(),
            answer.CheckedAt.UtcDateTime,
            answer.ValidUntil.UtcDateTime,
            answer.ServedFrom,
            request.LawfulBasis,
            consentId,
            receipt.Sequence,
            releasesConfirmedBy ? answer.ConfirmedBy : null));
    }

    /// <summary>Step 3b: a denied check is recorded too (every check, allowed or denied, is audited).</summary>
    private Task<CheckResult> RecordDenialAsync(
        CheckCaller caller, ValidCheckRequest request, string subjectReference, string rule, string? consentId, CancellationToken cancellationToken) =>
        RecordDenialAsync(caller, request.SchemeId, request.LawfulBasis, request.CaseReference, subjectReference, rule, consentId, cancellationToken);

    private async Task<CheckResult> RecordDenialAsync(
        CheckCaller caller, string schemeId, string lawfulBasis, string caseReference, string? subjectReference, string rule, string? consentId, CancellationToken cancellationToken)
    {
        var framework = frameworks.TryGetCurrent(out var snapshot) ? snapshot.Definition : null;
        var entry = new AuditEntry
        {
            EventType = AuditEventTypes.Check,
            CouncilId = caller.Council.Id,
            ClientId = caller.ClientId,
            SchemeId = schemeId,
            LawfulBasis = lawfulBasis,
            ConsentId = consentId,
            CaseReference = caseReference,
            Decision = AuditDecisions.Deny,
            Rule = rule,
            TraceId = caller.TraceId,
            SubjectReference = subjectReference,
            FrameworkId = framework?.Id,
            FrameworkVersion = framework?.Version,
        };

        try
        {
            await audit.AppendAsync(entry, cancellationToken);
        }
        catch (AuditUnavailableException)
        {
            Log.AuditUnavailable(logger, caller.Council.Id, schemeId);
            return new CheckResult.AuditUnavailable();
        }

        metrics.CheckDenied(caller.Council.Id, schemeId, rule);
        Log.Denied(logger, caller.Council.Id, schemeId, rule);
        return new CheckResult.Denied(rule);
    }

    /// <summary>The current trace id, joining the audit record to the request's trace.</summary>
    public static string? CurrentTraceId() => Activity.Current?.TraceId.ToHexString();

    private sealed record Answer(
        Outcome Outcome, ImmutableArray<string> ConfirmedBy, DateTimeOffset CheckedAt, DateTimeOffset ValidUntil, string ServedFrom, ImmutableArray<ProviderCall> Calls);
}
