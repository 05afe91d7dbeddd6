using System.Collections.Immutable;
using System.Diagnostics;
using EligibilityGateway.Audit;
using EligibilityGateway.Caching;
using EligibilityGateway.Providers;
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
}

/// <summary>Rules the check path itself decides by, beside the trust framework's (<see cref="PolicyRules"/>).</summary>
internal static class CheckRules
{
    /// <summary>
    /// <c>lawfulBasis: consent</c> on a client-credentials token: the basis is allowed, but consent exists only as a
    /// consent resource the citizen authorised, carried by a consent-bound token (SPEC §4.1, §5.3).
    /// </summary>
    public const string ConsentNotPresented = "deny:consent-not-presented";
}

/// <summary>
/// One check, start to finish: policy → rate limit → cache or providers → audit → response (SPEC §4). Each step
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
    TimeProvider timeProvider,
    ILogger<CheckService> logger)
{

    public async Task<CheckResult> RunAsync(CheckCaller caller, ValidCheckRequest request, CancellationToken cancellationToken)
    {
        var subjectReference = subjectReferences.Compute(request.Subject);
        var decision = Decide(caller, request);
        if (!decision.IsAllowed)
        {
            return await RecordDenialAsync(caller, request, subjectReference, decision.Rule, cancellationToken);
        }

        var grant = decision.Grant;
        if (!rateLimiter.TryAcquire(caller.Council.Id, grant.Scheme.Id, grant.RateLimit, out var retryAfter))
        {
            Log.RateLimited(logger, caller.Council.Id, grant.Scheme.Id);
            return new CheckResult.RateLimited(retryAfter);
        }

        var answer = await AnswerAsync(caller, grant, request.Subject, cancellationToken);
        return await RecordAnswerAsync(caller, request, grant, decision.Rule, subjectReference, answer, cancellationToken);
    }

    /// <summary>Step 1: the trust framework decides, then the check path's own consent rule.</summary>
    private PolicyDecision Decide(CheckCaller caller, ValidCheckRequest request)
    {
        var decision = policy.Decide(caller.Council.Id, request.SchemeId, request.LawfulBasis);
        return decision.IsAllowed && decision.Grant.LawfulBasis.Basis == LawfulBasis.Consent
            ? PolicyDecision.Deny(CheckRules.ConsentNotPresented)
            : decision;
    }

    /// <summary>Step 2: the cache, else the providers (one call shared by identical concurrent checks).</summary>
    private async Task<Answer> AnswerAsync(CheckCaller caller, PolicyGrant grant, Subject subject, CancellationToken cancellationToken)
    {
        var key = cacheKeys.For(caller.Council.Id, grant.Scheme.Id, consentId: null, subject);
        if (await cache.GetAsync(key, cancellationToken) is { } cached)
        {
            return new Answer(cached.Outcome, cached.ConfirmedBy, cached.CheckedAt, cached.ValidUntil, AuditServedFrom.Cache, []);
        }

        // Identical concurrent checks (same council, scheme and subject: the same cache key) share one provider call.
        var checkedAt = timeProvider.GetUtcNow();
        var live = await inFlight.RunAsync(key, async ct =>
        {
            var fresh = await providers.EvaluateAsync(grant, subject, ct);
            await CacheAsync(key, grant.Scheme, fresh, checkedAt, ct);
            return fresh;
        }, cancellationToken);

        return new Answer(live.Outcome, live.ConfirmedBy, checkedAt, ValidUntil(grant.Scheme, live.Outcome, checkedAt), AuditServedFrom.Live, live.Calls);
    }

    /// <summary>Definite answers are kept for the scheme's cache TTL; an undetermined one never is (SPEC §4.3, §7).</summary>
    private async Task CacheAsync(CacheKey key, Scheme scheme, SchemeAnswer answer, DateTimeOffset checkedAt, CancellationToken cancellationToken)
    {
        if (answer.Outcome == Outcome.Undetermined || scheme.CacheTtl <= TimeSpan.Zero)
        {
            return;
        }

        var validUntil = checkedAt + scheme.CacheTtl;
        await cache.SetAsync(key, new CachedAnswer(answer.Outcome, answer.ConfirmedBy, checkedAt, validUntil), scheme.CacheTtl, cancellationToken);
    }

    private static DateTimeOffset ValidUntil(Scheme scheme, Outcome outcome, DateTimeOffset checkedAt) =>
        outcome == Outcome.Undetermined ? checkedAt : checkedAt + scheme.CacheTtl;

    /// <summary>Step 3a: an allowed check is recorded; only then is its answer released.</summary>
    private async Task<CheckResult> RecordAnswerAsync(
        CheckCaller caller, ValidCheckRequest request, PolicyGrant grant, string rule, string subjectReference, Answer answer, CancellationToken cancellationToken)
    {
        var checkId = Guid.CreateVersion7(timeProvider.GetUtcNow()).ToString();
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

        Log.Answered(logger, caller.Council.Id, grant.Scheme.Id, answer.Outcome.ToName(), answer.ServedFrom, receipt.Sequence);
        return new CheckResult.Answered(new CheckResponse(
            checkId,
            grant.Scheme.Id,
            answer.Outcome.ToName(),
            answer.CheckedAt.UtcDateTime,
            answer.ValidUntil.UtcDateTime,
            answer.ServedFrom,
            request.LawfulBasis,
            ConsentId: null,
            receipt.Sequence,
            releasesConfirmedBy ? answer.ConfirmedBy : null));
    }

    /// <summary>Step 3b: a denied check is recorded too (SPEC §6: every check, allowed or denied).</summary>
    private async Task<CheckResult> RecordDenialAsync(
        CheckCaller caller, ValidCheckRequest request, string subjectReference, string rule, CancellationToken cancellationToken)
    {
        var framework = frameworks.TryGetCurrent(out var snapshot) ? snapshot.Definition : null;
        var entry = new AuditEntry
        {
            EventType = AuditEventTypes.Check,
            CouncilId = caller.Council.Id,
            ClientId = caller.ClientId,
            SchemeId = request.SchemeId,
            LawfulBasis = request.LawfulBasis,
            CaseReference = request.CaseReference,
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
            Log.AuditUnavailable(logger, caller.Council.Id, request.SchemeId);
            return new CheckResult.AuditUnavailable();
        }

        Log.Denied(logger, caller.Council.Id, request.SchemeId, rule);
        return new CheckResult.Denied(rule);
    }

    /// <summary>The current trace id, joining the audit record to the request's trace.</summary>
    public static string? CurrentTraceId() => Activity.Current?.TraceId.ToHexString();

    private sealed record Answer(
        Outcome Outcome, ImmutableArray<string> ConfirmedBy, DateTimeOffset CheckedAt, DateTimeOffset ValidUntil, string ServedFrom, ImmutableArray<ProviderCall> Calls);
}
