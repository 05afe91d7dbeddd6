using System.Collections.Concurrent;

namespace EligibilityGateway.Caching;

/// <summary>
/// Lets identical concurrent requests share one piece of work (README.md: identical concurrent checks share one
/// provider call). The first caller for a key starts the work; callers that arrive while it runs wait for the same
/// result, or the same exception. Nothing is remembered once the work ends: the next call starts afresh, so a
/// failure is shared but never cached.
/// </summary>
/// <remarks>
/// The work gets its own cancellation token, cancelled only when every caller waiting for it has given up. One
/// caller cancelling therefore stops only its own wait, never the answer the others are waiting for.
/// </remarks>
internal sealed class SingleFlight<TKey, TValue>
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Flight> flights = new();

    /// <summary>How many keys have work under way.</summary>
    public int InFlight => flights.Count;

    /// <summary>Runs <paramref name="work"/> for <paramref name="key"/>, or joins the run already under way for it.</summary>
    /// <param name="key">What makes two requests identical.</param>
    /// <param name="work">The shared work; its token is cancelled only when every waiting caller has cancelled.</param>
    /// <param name="cancellationToken">Stops this caller's wait.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the work ended.</exception>
    public async Task<TValue> RunAsync(TKey key, Func<CancellationToken, Task<TValue>> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        cancellationToken.ThrowIfCancellationRequested();

        var flight = Join(key, work);
        try
        {
            return await flight.Result.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !flight.Result.IsCompleted)
        {
            flight.Leave();
            throw;
        }
    }

    private Flight Join(TKey key, Func<CancellationToken, Task<TValue>> work)
    {
        while (true)
        {
            if (flights.TryGetValue(key, out var current))
            {
                if (current.TryJoin())
                {
                    return current;
                }

                // Every caller of that flight gave up and its work is being cancelled: replace it.
                flights.TryRemove(new KeyValuePair<TKey, Flight>(key, current));
                continue;
            }

            var flight = new Flight(this, key);
            if (flights.TryAdd(key, flight))
            {
                flight.Start(work);
                return flight;
            }
        }
    }

    private sealed class Flight(SingleFlight<TKey, TValue> owner, TKey key)
    {
        private readonly Lock gate = new();

        // Not disposed: it has no timer and no linked parent, and Leave may cancel it after the work has ended.
        private readonly CancellationTokenSource abandon = new();
        private int waiters = 1;
        private bool abandoned;

        // Exists before the flight is published, so a caller that joins early always has something to await; its
        // continuations run asynchronously, so no waiter runs on the thread that finished the work.
        private readonly TaskCompletionSource<TValue> outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<TValue> Result => outcome.Task;

        public void Start(Func<CancellationToken, Task<TValue>> work) => _ = RunAsync(work);

        public bool TryJoin()
        {
            lock (gate)
            {
                if (abandoned)
                {
                    return false;
                }

                waiters++;
                return true;
            }
        }

        public void Leave()
        {
            lock (gate)
            {
                waiters--;
                if (waiters > 0 || Result.IsCompleted)
                {
                    return;
                }

                abandoned = true;
            }

            Land();
            abandon.Cancel();
        }

        private async Task RunAsync(Func<CancellationToken, Task<TValue>> work)
        {
            // Each branch leaves the table before the outcome is published: whoever sees the outcome and asks again
            // starts fresh work, so neither a result nor a failure outlives the flight.
            try
            {
                var value = await work(abandon.Token).ConfigureAwait(false);
                Land();
                outcome.TrySetResult(value);
            }
            catch (OperationCanceledException ex)
            {
                Land();
                outcome.TrySetCanceled(ex.CancellationToken);
            }
            catch (Exception ex)
            {
                // Not swallowed: handed to every waiter, exactly as the work threw it.
                Land();
                outcome.TrySetException(ex);
            }
        }

        private void Land() => owner.flights.TryRemove(new KeyValuePair<TKey, Flight>(key, this));
    }
}
