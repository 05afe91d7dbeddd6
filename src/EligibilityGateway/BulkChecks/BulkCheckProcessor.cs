using System.Collections.Concurrent;
using System.Threading.Channels;
using EligibilityGateway.Audit;
using EligibilityGateway.Checks;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.BulkChecks;

/// <summary>
/// Runs bulk jobs on every replica (README.md, "Running a job"): takes the lease of open jobs, settles items a previous
/// lease holder left claimed (from the audit log when their record is there), claims pending items in row order,
/// checks each through <see cref="CheckService.RunBulkItemAsync"/> in the bulk lane, writes each result after its
/// audit record is committed, renews the lease while it works, and purges jobs past their retention.
/// </summary>
internal sealed class BulkCheckProcessor(
    IBulkCheckStore store,
    CheckService checks,
    BulkLane lane,
    BulkSubjectProtector protector,
    IAuditLog audit,
    TrustFrameworkMonitor frameworks,
    IOptions<BulkCheckOptions> options,
    TimeProvider time,
    ILogger<BulkCheckProcessor> logger) : BackgroundService
{
    private const int ClaimBatch = 256;

    /// <summary>Most results written in one transaction.</summary>
    private const int ResultsBatch = 1000;

    /// <summary>How long results are gathered before a transaction writes them.</summary>
    private static readonly TimeSpan ResultsLinger = TimeSpan.FromMilliseconds(50);

    /// <summary>A denied item whose sealed subject would not open (altered, or sealed under another key).</summary>
    public const string UnreadableRule = "deny:bulk-item-unreadable";

    private readonly string owner = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private readonly SemaphoreSlim wake = new(0, 1);
    private readonly ConcurrentDictionary<string, Task> running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> stops = new(StringComparer.Ordinal);

    /// <summary>
    /// A job was cancelled through this replica: if it runs here, stop taking its items now rather than at the next
    /// lease renewal (which is how other replicas learn of it).
    /// </summary>
    public void Cancelled(string jobId)
    {
        if (stops.TryGetValue(jobId, out var stop))
        {
            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Finished meanwhile.
            }
        }
    }

    /// <summary>Looks for work now rather than at the next poll (a job was just submitted here).</summary>
    public void Wake()
    {
        try
        {
            wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already woken.
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var nextPurge = time.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (time.GetUtcNow() >= nextPurge)
                {
                    var purged = await store.PurgeAsync(time.GetUtcNow(), stoppingToken);
                    Log.Purged(logger, purged);
                    nextPurge = time.GetUtcNow() + settings.PurgeInterval;
                }

                while (running.Count < settings.MaxJobsPerReplica
                    && await store.TryLeaseAsync(owner, time.GetUtcNow(), settings.LeaseDuration, [.. running.Keys], stoppingToken) is { } job)
                {
                    running[job.JobId] = Task.Run(() => RunJobAsync(job, stoppingToken), CancellationToken.None);
                    _ = running[job.JobId].ContinueWith(_ => running.TryRemove(job.JobId, out Task? _), TaskScheduler.Default);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The store may be briefly locked or gone; jobs stay where they are and the next poll tries again.
                Log.PollFailed(logger, ex.GetType().Name);
            }

            try
            {
                await wake.WaitAsync(settings.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await Task.WhenAll(running.Values);
    }

    private async Task RunJobAsync(BulkJob job, CancellationToken stopping)
    {
        var settings = options.Value;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        stops[job.JobId] = stop;
        var lost = false;
        // Renewed at least every second: other replicas learn of a cancellation at the next renewal.
        var renewEvery = settings.LeaseDuration / 3 < TimeSpan.FromSeconds(1) ? settings.LeaseDuration / 3 : TimeSpan.FromSeconds(1);
        Log.JobLeased(logger, job.JobId, job.Status);
        var heartbeat = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(renewEvery, time, stop.Token);
                    var status = await store.RenewAsync(job.JobId, owner, time.GetUtcNow(), settings.LeaseDuration, stop.Token);
                    if (status != BulkJobStatus.Running)
                    {
                        lost = status is null;
                        Log.JobStopping(logger, job.JobId, status ?? "lease lost");
                        await stop.CancelAsync();
                    }
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                catch (Exception ex)
                {
                    Log.PollFailed(logger, ex.GetType().Name);
                }
            }
        }, CancellationToken.None);

        var results = Channel.CreateUnbounded<BulkItemResult>(new UnboundedChannelOptions { SingleReader = true });
        var itemsDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var writer = Task.Run(() => WriteResultsAsync(job.JobId, results.Reader, itemsDone.Task, stopping), CancellationToken.None);
        try
        {
            var council = frameworks.Current.TryGetCouncilByClientId(job.ClientId, out var found) && found.Id == job.CouncilId ? found : null;
            var items = Channel.CreateBounded<ClaimedBulkItem>(new BoundedChannelOptions(settings.ItemsInFlightPerJob * 2) { SingleWriter = true });

            // Items a previous holder claimed: their check may be recorded already. Recorded → its result comes from
            // the record, nobody is asked again; not recorded → it is checked now, once.
            var unsettled = new List<ClaimedBulkItem>();
            var fromAudit = 0;
            foreach (var item in await store.ReadClaimedAsync(job.JobId, stopping))
            {
                var stored = council is null ? null : await audit.FindCheckAsync(item.CheckId, council.Id, stopping);
                if (stored is not null)
                {
                    await results.Writer.WriteAsync(BulkItemResult.FromAudit(item.Row, stored), stopping);
                    fromAudit++;
                }
                else
                {
                    unsettled.Add(item);
                }
            }

            if (unsettled.Count > 0 || fromAudit > 0)
            {
                Log.Recovered(logger, job.JobId, fromAudit, unsettled.Count);
            }

            var producer = Task.Run(async () =>
            {
                try
                {
                    foreach (var item in unsettled)
                    {
                        await items.Writer.WriteAsync(item, stop.Token);
                    }

                    while (!stop.IsCancellationRequested)
                    {
                        var claimed = await store.ClaimAsync(job.JobId, owner, ClaimBatch, stop.Token);
                        if (claimed.Count == 0)
                        {
                            break;
                        }

                        foreach (var item in claimed)
                        {
                            await items.Writer.WriteAsync(item, stop.Token);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                    // Cancelled or lease lost: what was claimed and not taken stays claimed (README.md, "Resumption").
                }
                finally
                {
                    items.Writer.Complete();
                }
            }, CancellationToken.None);

            await Parallel.ForEachAsync(
                items.Reader.ReadAllAsync(CancellationToken.None),
                new ParallelOptions { MaxDegreeOfParallelism = settings.ItemsInFlightPerJob },
                async (item, _) =>
                {
                    if (stop.IsCancellationRequested)
                    {
                        return; // left claimed: settled by whoever holds the lease next, or marked cancelled on release
                    }

                    if (await CheckItemAsync(job, council, item, stop.Token, stopping) is { } result)
                    {
                        await results.Writer.WriteAsync(result, CancellationToken.None);
                    }
                });
            await producer;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutting down: the lease lapses and another replica (or this one, restarted) carries on.
        }
        catch (Exception ex)
        {
            Log.JobFailed(logger, job.JobId, ex.GetType().Name);
        }
        finally
        {
            itemsDone.TrySetResult();
            results.Writer.Complete();
            try
            {
                await writer;
            }
            catch (Exception ex)
            {
                // Whatever the writer met, the heartbeat below must still stop; unwritten items stay claimed and are
                // settled from their audit records by the next lease holder.
                Log.JobFailed(logger, job.JobId, ex.GetType().Name);
            }

            await stop.CancelAsync();
            await heartbeat;
            stops.TryRemove(job.JobId, out _);
        }

        // Also when stopping: an unfinished job is handed back at once rather than when its lease lapses.
        if (!lost)
        {
            try
            {
                var status = await store.ReleaseAsync(job.JobId, owner, time.GetUtcNow(), settings.Retention, CancellationToken.None);
                Log.JobReleased(logger, job.JobId, status ?? "lease lost");
            }
            catch (Exception ex)
            {
                Log.JobFailed(logger, job.JobId, ex.GetType().Name);
            }
        }
    }

    /// <summary>One item, start to recorded result; null when the gateway is stopping before its check was recorded.</summary>
    /// <param name="stop">The job is cancelled or its lease lost: stop waiting for the rate limit or the lane.</param>
    private async Task<BulkItemResult?> CheckItemAsync(BulkJob job, Council? council, ClaimedBulkItem item, CancellationToken stop, CancellationToken stopping)
    {
        if (council is null)
        {
            // The council left the trust framework after submitting: nothing may be checked for it.
            return Failed(item.Row, PolicyRules.UnknownCouncil);
        }

        if (protector.Open(job.JobId, item.Row, item.SealedSubject) is not { } subject)
        {
            return Failed(item.Row, UnreadableRule);
        }

        var caller = new CheckCaller(council, job.ClientId, job.TraceId);
        var check = new BulkItemCheck(item.CheckId, new ValidCheckRequest(job.SchemeId, job.LawfulBasis, item.CaseReference, subject));
        for (var attempt = 1; ; attempt++)
        {
            CheckResult result;
            try
            {
                // The lane is waited for with the job's token: an item still waiting when the job stops asks nobody.
                result = await checks.RunBulkItemAsync(caller, check, (grant, subject, _) => lane.EnterAsync(grant, subject, stop), stop, stopping);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return null; // left claimed: marked cancelled on release, or settled by the next lease holder
            }

            switch (result)
            {
                case CheckResult.Answered answered:
                    var response = answered.Response;
                    return new BulkItemResult(
                        item.Row, BulkItemState.Completed, AuditRecordFormat.ParseOutcome(response.Outcome), response.ServedFrom,
                        new DateTimeOffset(response.CheckedAt, TimeSpan.Zero), new DateTimeOffset(response.ValidUntil, TimeSpan.Zero),
                        response.ConfirmedBy, response.AuditSequence, null);
                case CheckResult.Denied denied:
                    return Failed(item.Row, denied.Rule);
                default:
                    // The audit log cannot record now: nothing was released; try the item again shortly.
                    Log.ItemRetried(logger, job.JobId, attempt);
                    try
                    {
                        await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, attempt)), time, stopping);
                    }
                    catch (OperationCanceledException)
                    {
                        return null;
                    }

                    break;
            }
        }
    }

    private static BulkItemResult Failed(int row, string rule) => new(row, BulkItemState.Failed, null, null, null, null, null, null, rule);

    /// <summary>
    /// Writes results in batches (one transaction each), gathering them for up to <see cref="ResultsLinger"/> first: a
    /// transaction per handful of items cost an fsync each, back to back, on one of the thread pool's few threads. The
    /// delay loses nothing: an item claimed but not yet written is settled from its audit record on resumption. A failed
    /// write is retried.
    /// </summary>
    /// <param name="itemsDone">Completes when no more results will come: the last ones are written at once.</param>
    private async Task WriteResultsAsync(string jobId, ChannelReader<BulkItemResult> reader, Task itemsDone, CancellationToken stopping)
    {
        var batch = new List<BulkItemResult>();
        while (await reader.WaitToReadAsync(CancellationToken.None))
        {
            if (!itemsDone.IsCompleted)
            {
                await Task.WhenAny(itemsDone, Task.Delay(ResultsLinger, time, CancellationToken.None));
            }

            while (batch.Count < ResultsBatch && reader.TryRead(out var result))
            {
                batch.Add(result);
            }

            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await store.WriteResultsAsync(jobId, batch, CancellationToken.None);
                    break;
                }
                catch (Exception ex) when (!stopping.IsCancellationRequested && attempt < 10)
                {
                    Log.WriteFailed(logger, jobId, ex.GetType().Name);
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), time, CancellationToken.None);
                }
                catch (Exception ex)
                {
                    // Left claimed: the next lease holder settles these items from their audit records.
                    Log.WriteFailed(logger, jobId, ex.GetType().Name);
                    break;
                }
            }

            batch.Clear();
        }
    }
}
