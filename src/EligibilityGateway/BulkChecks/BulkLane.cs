using System.Collections.Concurrent;
using EligibilityGateway.Checks;
using EligibilityGateway.Providers;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.BulkChecks;

/// <summary>
/// The bulk lane (README.md, "Lanes"): how many bulk items of this process may be asking each provider at once,
/// whatever the number of jobs. A provider's share is its trust-framework <c>max_concurrency</c> less
/// <see cref="BulkCheckOptions.ReservedProviderSlots"/>, at least one, so single checks always find that many of the
/// provider's slots free and never queue behind bulk work. The provider pipeline's own limiter still bounds every call.
/// </summary>
internal sealed class BulkLane(IOptions<BulkCheckOptions> options)
{
    private readonly ConcurrentDictionary<(string ProviderId, int Size), SemaphoreSlim> shares = new();

    /// <summary>The bulk share of a provider allowing <paramref name="maxConcurrency"/> calls.</summary>
    public int ShareOf(int maxConcurrency) => Math.Max(1, maxConcurrency - options.Value.ReservedProviderSlots);

    /// <summary>
    /// Waits for a slot of each provider the scheme will actually ask about <paramref name="subject"/> (a question
    /// needing the other identifier is not asked), in provider-id order so that two items never wait on each other.
    /// </summary>
    public async ValueTask<IDisposable> EnterAsync(PolicyGrant grant, Subject subject, CancellationToken cancellationToken)
    {
        var asked = grant.Questions
            .Where(q => !ProviderQuestionCatalogue.TryGet(q.QuestionId, out var definition) || definition.RequiredIdentifier == subject.IdentifierKind)
            .Select(q => q.ProviderId)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .Select(id => grant.Providers.FirstOrDefault(p => p.Id == id))
            .OfType<DataProvider>()
            .ToArray();

        var held = new List<SemaphoreSlim>(asked.Length);
        try
        {
            foreach (var provider in asked)
            {
                // Keyed by size too: a reloaded framework with another max_concurrency starts a new share; items
                // holding the old one finish on it.
                var share = shares.GetOrAdd((provider.Id, ShareOf(provider.MaxConcurrency)), key => new SemaphoreSlim(key.Size, key.Size));
                await share.WaitAsync(cancellationToken);
                held.Add(share);
            }
        }
        catch
        {
            Release(held);
            throw;
        }

        return new Slots(held);
    }

    private static void Release(List<SemaphoreSlim> held)
    {
        foreach (var share in held)
        {
            share.Release();
        }

        held.Clear();
    }

    private sealed class Slots(List<SemaphoreSlim> held) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                Release(held);
            }
        }
    }
}
