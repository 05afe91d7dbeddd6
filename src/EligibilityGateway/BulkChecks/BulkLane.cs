using System.Collections.Concurrent;
using EligibilityGateway.Checks;
using EligibilityGateway.Providers;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.BulkChecks;

/// <summary>
/// The bulk lane (README.md, "Lanes"): bulk items of this process, whatever the number of jobs, take a provider slot only
/// while the provider's calls in flight — bulk items and single checks together — are fewer than its trust-framework
/// <c>max_concurrency</c> less <see cref="BulkCheckOptions.ReservedProviderSlots"/>. Single checks never wait here:
/// they are counted (<see cref="EnterSingle"/>) and bulk work yields the slots they use, so bulk work has every slot
/// single checks leave and a single check always finds the reserve free. Bulk work keeps at least one slot, so a job
/// still progresses under a flood of single checks. The provider pipeline's own limiter still bounds every call.
/// </summary>
internal sealed class BulkLane(IOptions<BulkCheckOptions> options)
{
    // Keyed by size too: a reloaded framework with another max_concurrency starts new slots; calls holding the old
    // ones finish on them.
    private readonly ConcurrentDictionary<(string ProviderId, int MaxConcurrency), ProviderSlots> slots = new();

    /// <summary>How many calls to a provider allowing <paramref name="maxConcurrency"/> bulk items may join: its limit less the reserve, at least one.</summary>
    private int ShareOf(int maxConcurrency) => Math.Max(1, maxConcurrency - options.Value.ReservedProviderSlots);

    /// <summary>
    /// Waits for a slot of each provider the scheme will actually ask about <paramref name="subject"/> (a question
    /// needing the other identifier is not asked), in provider-id order so that two items never wait on each other.
    /// </summary>
    public async ValueTask<IDisposable> EnterAsync(PolicyGrant grant, Subject subject, CancellationToken cancellationToken)
    {
        var asked = Asked(grant, subject);
        var entered = 0;
        try
        {
            for (; entered < asked.Count; entered++)
            {
                await asked[entered].EnterBulkAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            for (var i = 0; i < entered; i++)
            {
                asked[i].Leave(wasBulk: true);
            }

            throw;
        }

        return new Held(asked, bulk: true);
    }

    /// <summary>
    /// Counts a single check's calls to the providers it will ask, until disposed, so that bulk items leave those slots
    /// to it. Never waits.
    /// </summary>
    public IDisposable EnterSingle(PolicyGrant grant, Subject subject)
    {
        var asked = Asked(grant, subject);
        foreach (var provider in asked)
        {
            provider.EnterSingle();
        }

        return new Held(asked, bulk: false);
    }

    /// <summary>The slots of each provider the scheme will ask about <paramref name="subject"/>, once each, in provider-id order.</summary>
    private List<ProviderSlots> Asked(PolicyGrant grant, Subject subject)
    {
        var questions = grant.Questions;
        var asked = new List<ProviderSlots>(questions.Length);
        foreach (var question in questions)
        {
            if (ProviderQuestionCatalogue.TryGet(question.QuestionId, out var definition) && definition.RequiredIdentifier != subject.IdentifierKind)
            {
                continue;
            }

            if (Provider(grant, question.ProviderId) is not { } provider || Contains(asked, provider.Id))
            {
                continue;
            }

            asked.Add(slots.GetOrAdd((provider.Id, provider.MaxConcurrency), key => new ProviderSlots(key.ProviderId, ShareOf(key.MaxConcurrency))));
        }

        asked.Sort(static (a, b) => string.CompareOrdinal(a.ProviderId, b.ProviderId));
        return asked;
    }

    private static bool Contains(List<ProviderSlots> asked, string providerId)
    {
        foreach (var slots in asked)
        {
            if (slots.ProviderId == providerId)
            {
                return true;
            }
        }

        return false;
    }

    private static DataProvider? Provider(PolicyGrant grant, string id)
    {
        foreach (var provider in grant.Providers)
        {
            if (provider.Id == id)
            {
                return provider;
            }
        }

        return null;
    }

    private sealed class Held(List<ProviderSlots> held, bool bulk) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                foreach (var provider in held)
                {
                    provider.Leave(bulk);
                }
            }
        }
    }
}

/// <summary>
/// One provider's calls in flight from this process, bulk and single, and the bulk items waiting for a slot, first come
/// first served. A bulk item enters while bulk + single &lt; <see cref="bulkLimit"/>, or when no bulk item holds a slot.
/// </summary>
internal sealed class ProviderSlots(string providerId, int bulkLimit)
{
    private readonly Lock gate = new();
    private readonly Queue<TaskCompletionSource> waiting = new();
    private int bulk;
    private int single;

    public string ProviderId { get; } = providerId;

    /// <summary>Bulk items holding a slot now.</summary>
    public int Bulk
    {
        get
        {
            lock (gate)
            {
                return bulk;
            }
        }
    }

    /// <summary>Single checks asking the provider now.</summary>
    public int Single
    {
        get
        {
            lock (gate)
            {
                return single;
            }
        }
    }

    public ValueTask EnterBulkAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (gate)
        {
            if (waiting.Count == 0 && MayEnterBulk())
            {
                bulk++;
                return ValueTask.CompletedTask;
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiting.Enqueue(waiter);
            // The queue may hold only cancelled waiters, with nobody left to release a slot: hand out what is free now.
            HandOut();
        }

        return waiter.Task.IsCompletedSuccessfully ? ValueTask.CompletedTask : WaitAsync(waiter, cancellationToken);
    }

    public void EnterSingle()
    {
        lock (gate)
        {
            single++;
        }
    }

    public void Leave(bool wasBulk)
    {
        lock (gate)
        {
            if (wasBulk)
            {
                bulk--;
            }
            else
            {
                single--;
            }

            HandOut();
        }
    }

    /// <summary>
    /// Under the lock: gives free slots to waiting bulk items, oldest first, while the rule allows; a waiter whose item
    /// was cancelled meanwhile gives its slot straight back.
    /// </summary>
    private void HandOut()
    {
        while (waiting.Count > 0 && MayEnterBulk())
        {
            bulk++;
            if (!waiting.Dequeue().TrySetResult())
            {
                bulk--;
            }
        }
    }

    private bool MayEnterBulk() => bulk == 0 || bulk + single < bulkLimit;

    private async ValueTask WaitAsync(TaskCompletionSource waiter, CancellationToken cancellationToken)
    {
        await using (cancellationToken.Register(static w => ((TaskCompletionSource)w!).TrySetCanceled(), waiter))
        {
            await waiter.Task.ConfigureAwait(false);
        }
    }
}
