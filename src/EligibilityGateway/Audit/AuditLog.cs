using System.Diagnostics;
using System.Threading.Channels;
using EligibilityGateway.Telemetry;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Audit;

/// <summary>
/// The audit log: callers enqueue entries on a bounded channel; one writer loop per process takes every entry
/// waiting (up to <see cref="AuditOptions.BatchSize"/>), hands them to the store as one transaction, and only
/// after the commit completes each caller's task with its sequence number (README.md, "Group commit"). If the commit
/// fails, every caller in the batch gets <see cref="AuditUnavailableException"/> and the loop carries on with the
/// next batch, so the log recovers by itself once the store does.
/// </summary>
/// <remarks>
/// One writer, in sequence order, is what lets the tamper-evident chain be computed at append time: the record
/// before each one is always the one this loop wrote last (README.md, "How the chain slots in").
/// Lifecycle: the store opens in <see cref="IHostedLifecycleService.StartingAsync"/>, before any service's
/// <c>StartAsync</c>, so that others may append while they start; the queue drains in
/// <see cref="IHostedLifecycleService.StoppedAsync"/>, after the server has finished its requests.
/// </remarks>
internal sealed class AuditLog : IAuditLog, IHostedLifecycleService, IAsyncDisposable
{
    private const int Created = 0;
    private const int Running = 1;
    private const int Stopped = 2;

    private readonly IAuditStore store;
    private readonly Channel<PendingAppend> queue;
    private readonly int batchSize;
    private readonly TimeSpan checkpointInterval;
    private readonly TimeProvider timeProvider;
    private readonly AuditMetrics metrics;
    private readonly ILogger<AuditLog> logger;
    private readonly Lock lifecycle = new();
    private Task? writer;
    private int state;
    private bool disposed;
    private bool draining;
    private long transactionsCommitted;
    private long recordsCommitted;
    private long transactionsFailed;
    private Exception? lastFailure;

    public AuditLog(IAuditStore store, IOptions<AuditOptions> options, TimeProvider timeProvider, AuditMetrics metrics, ILogger<AuditLog> logger)
    {
        this.store = store;
        this.timeProvider = timeProvider;
        this.metrics = metrics;
        this.logger = logger;
        batchSize = options.Value.BatchSize;
        checkpointInterval = options.Value.Checkpoints.Interval;
        queue = Channel.CreateBounded<PendingAppend>(new BoundedChannelOptions(options.Value.QueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            // The writer loop must never run a caller's continuation inline; PendingAppend completes asynchronously too.
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>The store behind the log, for the readiness check and for tests that read records back.</summary>
    public IAuditStore Store => store;

    /// <summary>True between a successful start and the end of the drain.</summary>
    public bool IsRunning => Volatile.Read(ref state) == Running;

    /// <summary>Transactions committed since start; fewer than <see cref="RecordsCommitted"/> when group commit batches.</summary>
    public long TransactionsCommitted => Interlocked.Read(ref transactionsCommitted);

    public long RecordsCommitted => Interlocked.Read(ref recordsCommitted);

    public long TransactionsFailed => Interlocked.Read(ref transactionsFailed);

    /// <summary>Why the most recent batch failed, or null when it committed.</summary>
    public Exception? LastFailure => Volatile.Read(ref lastFailure);

    public ValueTask<AuditReceipt> AppendAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        AuditEntryRules.Validate(entry);
        return GatewayTelemetry.ActivitySource.HasListeners() ? AppendTracedAsync(entry, cancellationToken) : Append(entry, cancellationToken);
    }

    private ValueTask<AuditReceipt> Append(AuditEntry entry, CancellationToken cancellationToken)
    {
        var pending = new PendingAppend(entry, timeProvider.GetTimestamp());
        return queue.Writer.TryWrite(pending) ? WaitForCommit(pending, cancellationToken) : EnqueueAndWaitAsync(pending, cancellationToken);
    }

    /// <summary>The append in an "audit append" span: the event type, then the sequence it was committed at.</summary>
    private async ValueTask<AuditReceipt> AppendTracedAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        using var activity = GatewayTelemetry.ActivitySource.StartActivity("audit append");
        activity?.SetTag("eligibility_gateway.audit.event_type", entry.EventType);
        try
        {
            var receipt = await Append(entry, cancellationToken).ConfigureAwait(false);
            activity?.SetTag("eligibility_gateway.audit.sequence", receipt.Sequence);
            return receipt;
        }
        catch (Exception ex)
        {
            // The type only: an exception's message is not written for export.
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }
    }

    public ValueTask<StoredCheck?> FindCheckAsync(string checkId, string councilId, CancellationToken cancellationToken = default) =>
        store.FindCheckAsync(checkId, councilId, cancellationToken);

    /// <summary>Opens the store (creating or migrating the schema) and starts the writer.</summary>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        lock (lifecycle)
        {
            if (state != Created || writer is not null)
            {
                throw new InvalidOperationException("The audit log has already been opened.");
            }

            // Claimed before the first await so that a second OpenAsync cannot start a second writer.
            writer = Task.CompletedTask;
        }

        try
        {
            await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.OpenFailed(logger, store.Kind, store.Location, ex);
            Volatile.Write(ref state, Stopped);
            queue.Writer.TryComplete();
            FailQueued(AuditUnavailableReason.StartFailed, "The audit store could not be opened.", ex);
            throw;
        }

        Log.Opened(logger, store.Kind, store.Location);
        Volatile.Write(ref state, Running);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() => RunWriter(stopped)) { IsBackground = true, Name = "Audit writer" };
        lock (lifecycle)
        {
            writer = stopped.Task;
        }

        thread.Start();
    }

    /// <summary>
    /// Stops accepting entries and waits until every entry accepted so far is committed or failed. If
    /// <paramref name="cancellationToken"/> fires first, the writer carries on in the background until disposal.
    /// </summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref draining, true);
        queue.Writer.TryComplete();
        Task? running;
        lock (lifecycle)
        {
            running = writer;
        }

        if (running is null)
        {
            // Never opened: nothing will write what is queued.
            FailQueued(AuditUnavailableReason.ShuttingDown, "The audit log stopped before it started.", null);
            running = Task.CompletedTask;
        }

        try
        {
            await running.WaitAsync(cancellationToken).ConfigureAwait(false);
            Log.Drained(logger, RecordsCommitted, TransactionsCommitted, TransactionsFailed);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.DrainTimedOut(logger, queue.Reader.Count);
        }
        finally
        {
            Volatile.Write(ref state, Stopped);
        }
    }

    /// <summary>Proves the store can commit now (readiness); see <see cref="IAuditStore.ProbeAsync"/>.</summary>
    public ValueTask<long> ProbeAsync(CancellationToken cancellationToken) => store.ProbeAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        Volatile.Write(ref draining, true);
        queue.Writer.TryComplete();
        Task? running;
        lock (lifecycle)
        {
            running = writer;
        }

        if (running is null)
        {
            FailQueued(AuditUnavailableReason.ShuttingDown, "The audit log was disposed before it started.", null);
        }
        else
        {
            // Every batch ends within the busy timeout, so this wait is bounded.
            await running.ConfigureAwait(false);
        }

        Volatile.Write(ref state, Stopped);
        await store.DisposeAsync().ConfigureAwait(false);
    }

    Task IHostedLifecycleService.StartingAsync(CancellationToken cancellationToken) => OpenAsync(cancellationToken);

    Task IHostedService.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StoppedAsync(CancellationToken cancellationToken) => DrainAsync(cancellationToken);

    private static ValueTask<AuditReceipt> WaitForCommit(PendingAppend pending, CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled ? new ValueTask<AuditReceipt>(pending.Task.WaitAsync(cancellationToken)) : new ValueTask<AuditReceipt>(pending.Task);

    private async ValueTask<AuditReceipt> EnqueueAndWaitAsync(PendingAppend pending, CancellationToken cancellationToken)
    {
        try
        {
            // The queue is full: wait for room, which is how a slow store slows its callers down.
            await queue.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw new AuditUnavailableException(AuditUnavailableReason.ShuttingDown, "The audit log is shutting down and records nothing more.");
        }

        return await WaitForCommit(pending, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The writer loop, on a thread of its own rather than the thread pool's: a SQLite commit blocks its thread for the
    /// fsync, back to back under load, and a pool sized to the processor count (two threads on a 2-core machine) that
    /// lent one of them to the writer would leave every check's continuations to the other. The loop blocks this thread
    /// while it waits for entries and while the store commits; nothing else runs on it.
    /// </summary>
    private void RunWriter(TaskCompletionSource stopped)
    {
        try
        {
            var batch = new List<PendingAppend>(batchSize);
            var entries = new List<AuditEntry>(batchSize);
            var reader = queue.Reader;
            while (Wait(WaitForEntriesAsync(reader)))
            {
                // Everything that arrived while the previous batch was committing goes into this one.
                while (batch.Count < batchSize && reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                    entries.Add(pending.Entry);
                }

                var committed = CommitAsync(batch, entries).GetAwaiter().GetResult();
                batch.Clear();
                entries.Clear();
                if (!committed && Volatile.Read(ref draining))
                {
                    // Draining after a failed commit: the store is down, so fail the rest at once rather than let each
                    // batch wait out the busy timeout while the host waits to stop.
                    FailQueued(AuditUnavailableReason.ShuttingDown, "The audit store failed while the log was shutting down.", LastFailure);
                }
            }

            // On shutdown the head is signed whatever the interval, so the last records of a run are never left unsigned.
            Wait(CheckpointAsync(force: true));
            stopped.SetResult();
        }
        catch (Exception ex)
        {
            stopped.SetException(ex);
        }
    }

    private static bool Wait(ValueTask<bool> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    private static void Wait(ValueTask pending)
    {
        if (!pending.IsCompletedSuccessfully)
        {
            pending.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Waits for entries; while none come, wakes every checkpoint interval to sign the records that are still
    /// unsigned, so that a quiet log's tail is covered within <see cref="AuditCheckpointOptions.Interval"/>.
    /// </summary>
    private async ValueTask<bool> WaitForEntriesAsync(ChannelReader<PendingAppend> reader)
    {
        while (true)
        {
            if (reader.TryPeek(out _))
            {
                return true;
            }

            using var idle = new CancellationTokenSource(checkpointInterval, timeProvider);
            try
            {
                return await reader.WaitToReadAsync(idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (idle.IsCancellationRequested)
            {
                await CheckpointAsync(force: false).ConfigureAwait(false);
            }
        }
    }

    private async ValueTask CheckpointAsync(bool force)
    {
        try
        {
            if (await store.CheckpointAsync(timeProvider.GetUtcNow(), force, CancellationToken.None).ConfigureAwait(false) is { } checkpoint)
            {
                Log.CheckpointIssued(logger, checkpoint.Sequence, checkpoint.KeyId);
            }
        }
        catch (Exception ex)
        {
            // A checkpoint that cannot be written now is written with a later one; appending carries on regardless.
            Log.CheckpointFailed(logger, store.Kind, ex);
        }
    }

    private async Task<bool> CommitAsync(List<PendingAppend> batch, List<AuditEntry> entries)
    {
        var recordedAt = timeProvider.GetUtcNow();
        long first;
        try
        {
            first = await store.AppendBatchAsync(entries, recordedAt, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Any failure, whatever its type, must reach every caller in the batch and must not stop the loop.
            Interlocked.Increment(ref transactionsFailed);
            Volatile.Write(ref lastFailure, ex);
            Log.CommitFailed(logger, batch.Count, store.Kind, ex);
            foreach (var pending in batch)
            {
                metrics.Appended(timeProvider.GetElapsedTime(pending.EnqueuedAt), committed: false);
                pending.TrySetException(new AuditUnavailableException(
                    AuditUnavailableReason.CommitFailed, "The audit store could not commit the record; nothing in its batch was recorded.", ex));
            }

            return false;
        }

        if (Volatile.Read(ref lastFailure) is not null)
        {
            Volatile.Write(ref lastFailure, null);
            Log.Recovered(logger, store.Kind, first);
        }

        Interlocked.Increment(ref transactionsCommitted);
        Interlocked.Add(ref recordsCommitted, batch.Count);
        metrics.Committed(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            metrics.Appended(timeProvider.GetElapsedTime(batch[i].EnqueuedAt), committed: true);
            batch[i].TrySetResult(new AuditReceipt(first + i, recordedAt));
        }

        return true;
    }

    private void FailQueued(AuditUnavailableReason reason, string message, Exception? cause)
    {
        while (queue.Reader.TryRead(out var pending))
        {
            pending.TrySetException(new AuditUnavailableException(reason, message, cause));
        }
    }

    /// <summary>An entry waiting for its commit; completes asynchronously so the writer never runs callers' code.</summary>
    private sealed class PendingAppend(AuditEntry entry, long enqueuedAt)
        : TaskCompletionSource<AuditReceipt>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public AuditEntry Entry { get; } = entry;

        public long EnqueuedAt { get; } = enqueuedAt;
    }
}
