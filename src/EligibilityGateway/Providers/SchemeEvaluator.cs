using System.Collections.Immutable;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using EligibilityGateway.Checks;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Providers;

/// <summary>
/// Asks every provider question of a granted scheme, in parallel, and combines the answers (README.md). A provider
/// failure of any kind — timeout, error status, open circuit, concurrency limit, malformed body, refused
/// credential — becomes a <see cref="ProviderCallStatus.Failed"/> call with a short reason; it is never thrown and
/// never read as "not eligible".
/// </summary>
internal sealed class SchemeEvaluator(
    ProviderClientSet clients,
    IOptions<ProviderEndpointsOptions> endpoints,
    TimeProvider timeProvider,
    ILogger<SchemeEvaluator> logger)
{
    /// <summary>Spans per provider question: provider and question ids, status and reason — never the subject.</summary>
    public static readonly ActivitySource ActivitySource = new("EligibilityGateway.Providers");

    /// <summary>Asks <paramref name="grant"/>'s questions about <paramref name="subject"/>.</summary>
    /// <exception cref="OperationCanceledException">Only when <paramref name="cancellationToken"/> is cancelled.</exception>
    public async Task<SchemeAnswer> EvaluateAsync(PolicyGrant grant, Subject subject, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ArgumentNullException.ThrowIfNull(subject);

        var caller = ProviderCaller.For(grant, Activity.Current);
        var questions = grant.Questions;
        var asks = new Task<ProviderCall>[questions.Length];
        for (var i = 0; i < questions.Length; i++)
        {
            asks[i] = AskAsync(caller, grant, questions[i], subject, cancellationToken);
        }

        var calls = ImmutableArray.Create(await Task.WhenAll(asks).ConfigureAwait(false));
        return new SchemeAnswer(SchemeCombiner.Combine(grant.Scheme.Combine, calls), calls);
    }

    private async Task<ProviderCall> AskAsync(ProviderCaller caller, PolicyGrant grant, ProviderQuestion question, Subject subject, CancellationToken cancellationToken)
    {
        using var activity = ActivitySource.StartActivity("provider question", ActivityKind.Internal);
        activity?.SetTag("eligibility_gateway.provider", question.ProviderId);
        activity?.SetTag("eligibility_gateway.question", question.QuestionId);

        var started = timeProvider.GetTimestamp();
        var answer = await AnswerAsync(caller, grant, question, subject, cancellationToken).ConfigureAwait(false);
        var latency = answer.Asked ? timeProvider.GetElapsedTime(started) : TimeSpan.Zero;

        if (answer.Status == ProviderCallStatus.Failed)
        {
            Log.CallFailed(logger, question.ProviderId, question.QuestionId, answer.Reason!);
            activity?.SetStatus(ActivityStatusCode.Error, answer.Reason);
        }

        activity?.SetTag("eligibility_gateway.provider_call.status", answer.Status.ToString());
        return new ProviderCall(question.ProviderId, answer.Status, latency, answer.Reason);
    }

    private async Task<(ProviderCallStatus Status, string? Reason, bool Asked)> AnswerAsync(
        ProviderCaller caller, PolicyGrant grant, ProviderQuestion question, Subject subject, CancellationToken cancellationToken)
    {
        if (!ProviderQuestionCatalogue.TryGet(question.QuestionId, out var definition))
        {
            return (ProviderCallStatus.Failed, ProviderFailureReasons.UnknownQuestion, false);
        }

        if (subject.IdentifierKind != definition.RequiredIdentifier)
        {
            // The provider cannot know someone by an identifier it does not hold: not found, without asking.
            return (ProviderCallStatus.NotFound, NotAskedReason(definition.RequiredIdentifier), false);
        }

        var provider = grant.Providers.FirstOrDefault(p => p.Id == question.ProviderId);
        if (provider is null)
        {
            return (ProviderCallStatus.Failed, ProviderFailureReasons.UnknownProvider, false);
        }

        if (!TryResolveEndpoint(provider, out var endpoint))
        {
            return (ProviderCallStatus.Failed, ProviderFailureReasons.NoCredential, false);
        }

        try
        {
            var answer = await definition.AskAsync(clients, endpoint, caller, subject, cancellationToken).ConfigureAwait(false);
            return (answer.Status, answer.Reason, true);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // The clients map every expected failure already; this is the last guard of "never an exception".
            Log.UnexpectedFailure(logger, question.ProviderId, question.QuestionId, ex.GetType().Name);
            return (ProviderCallStatus.Failed, ProviderFailureReasons.Unexpected, true);
        }
    }

    private bool TryResolveEndpoint(DataProvider provider, [NotNullWhen(true)] out ProviderEndpoint? endpoint)
    {
        endpoints.Value.Providers.TryGetValue(provider.Id, out var configured);
        if (string.IsNullOrEmpty(configured?.Credential))
        {
            endpoint = null;
            return false;
        }

        endpoint = new ProviderEndpoint(provider.Id, configured.BaseUrl ?? provider.BaseUrl, configured.Credential);
        return true;
    }

    private static string NotAskedReason(IdentifierKind required) => required switch
    {
        IdentifierKind.NationalInsuranceNumber => ProviderFailureReasons.NotAskedNeedsNationalInsuranceNumber,
        _ => ProviderFailureReasons.NotAskedNeedsAsylumSupportNumber,
    };
}

/// <summary>The combining rule (README.md, "Combining"), as a pure function of the provider answers.</summary>
internal static class SchemeCombiner
{
    public static Outcome Combine(CombiningRule rule, IEnumerable<ProviderCall> calls) =>
        Combine(rule, calls.Select(c => c.Status));

    /// <summary>
    /// <c>any-eligible</c>: any eligible → eligible; otherwise any failure → undetermined (a failure is never a
    /// "no"); otherwise any provider that found the person → not eligible; otherwise → not found.
    /// </summary>
    public static Outcome Combine(CombiningRule rule, IEnumerable<ProviderCallStatus> statuses)
    {
        if (rule != CombiningRule.AnyEligible)
        {
            throw new ArgumentOutOfRangeException(nameof(rule), rule, "Only any-eligible is defined.");
        }

        var seen = statuses.ToHashSet();
        return seen.Contains(ProviderCallStatus.Eligible) ? Outcome.Eligible
            : seen.Contains(ProviderCallStatus.Failed) ? Outcome.Undetermined
            : seen.Contains(ProviderCallStatus.NotEligible) ? Outcome.NotEligible
            : Outcome.NotFound;
    }
}
