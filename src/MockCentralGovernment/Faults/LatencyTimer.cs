using System.Diagnostics;

namespace MockCentralGovernment.Faults;

/// <summary>
/// Waits out injected latency closer to the set value than <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/>.
/// .NET's timers run on a coarse clock, so a call set to 20 ms took 22.6 ms on average at 64 calls at once (the
/// concurrency meter's <c>meanCallMilliseconds</c>), and a caller's benchmark measured the mock as much as itself. One
/// thread keeps the due times in order and sleeps until the earliest on a monitor wait, which the kernel times
/// precisely; a wait ends at or after its due time, never before, and usually within a millisecond of it.
/// </summary>
internal sealed class LatencyTimer : IDisposable
{
    private readonly object sync = new();
    private readonly PriorityQueue<TaskCompletionSource, long> due = new();
    private readonly Thread thread;
    private bool disposed;

    public LatencyTimer()
    {
        thread = new Thread(Run) { IsBackground = true, Name = "Mock latency timer" };
        thread.Start();
    }

    /// <summary>Completes once <paramref name="delay"/> has passed by <see cref="Stopwatch"/>, or cancels with <paramref name="cancellationToken"/>.</summary>
    public async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var at = Stopwatch.GetTimestamp() + (long)Math.Ceiling(delay.TotalSeconds * Stopwatch.Frequency);
        lock (sync)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            due.Enqueue(waiter, at);
            if (due.Peek() == waiter)
            {
                Monitor.Pulse(sync); // a new earliest: the thread sleeps until it instead
            }
        }

        await using (cancellationToken.Register(static w => ((TaskCompletionSource)w!).TrySetCanceled(), waiter))
        {
            await waiter.Task.ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        lock (sync)
        {
            disposed = true;
            Monitor.Pulse(sync);
        }

        thread.Join();
    }

    private void Run()
    {
        lock (sync)
        {
            while (!disposed)
            {
                if (!due.TryPeek(out var waiter, out var at))
                {
                    Monitor.Wait(sync);
                    continue;
                }

                var left = at - Stopwatch.GetTimestamp();
                if (left <= 0)
                {
                    due.Dequeue();
                    waiter.TrySetResult(); // continues on the thread pool, not here; a cancelled waiter is already done
                    continue;
                }

                Monitor.Wait(sync, TimeSpan.FromMilliseconds(Math.Ceiling(left * 1000.0 / Stopwatch.Frequency)));
            }

            while (due.TryDequeue(out var waiter, out _))
            {
                waiter.TrySetCanceled();
            }
        }
    }
}
