namespace EligibilityGateway.Caching;

/// <summary>
/// When to ask Redis, for a user that carries on without it (the answer cache, the failure throttles): while Redis
/// answers it is in use; after a failure it is bypassed at no cost for <see cref="CacheOptions.BackOff"/>, after which
/// one caller at a time tries it again. It also says when an outage starts and ends, so that each is logged once,
/// not once per request.
/// </summary>
internal sealed class RedisBackOff(TimeSpan backOff, TimeProvider timeProvider)
{
    // skipUntil holds this while Redis is in use; otherwise the TimeProvider timestamp until which it is bypassed.
    private const long InUse = long.MinValue;

    private readonly long backOffTicks = (long)(backOff.TotalSeconds * timeProvider.TimestampFrequency);
    private long skipUntil = InUse;
    private long unavailableSince;
    private int reportedUnavailable;

    /// <summary>True while Redis is in use; false inside a back-off window after a failure.</summary>
    public bool IsInUse => Volatile.Read(ref skipUntil) == InUse;

    /// <summary>
    /// True when Redis may be asked: it is in use, or the back-off window has passed and this caller won the right to
    /// try it (others keep bypassing it until that attempt has gone either way).
    /// </summary>
    public bool TryEnter()
    {
        var until = Volatile.Read(ref skipUntil);
        if (until == InUse)
        {
            return true;
        }

        var now = timeProvider.GetTimestamp();
        return now >= until && Interlocked.CompareExchange(ref skipUntil, now + backOffTicks, until) == until;
    }

    /// <summary>Redis answered. When that ends a reported outage, how long the outage lasted; otherwise null.</summary>
    public TimeSpan? MarkInUse()
    {
        if (Volatile.Read(ref skipUntil) != InUse)
        {
            Volatile.Write(ref skipUntil, InUse);
        }

        return Volatile.Read(ref reportedUnavailable) == 1 && Interlocked.Exchange(ref reportedUnavailable, 0) == 1
            ? timeProvider.GetElapsedTime(Volatile.Read(ref unavailableSince))
            : null;
    }

    /// <summary>Redis failed: bypass it for the back-off. True when this failure starts an outage (report it).</summary>
    public bool MarkUnavailable()
    {
        var now = timeProvider.GetTimestamp();
        Volatile.Write(ref skipUntil, now + backOffTicks);
        if (Interlocked.Exchange(ref reportedUnavailable, 1) != 0)
        {
            return false;
        }

        Volatile.Write(ref unavailableSince, now);
        return true;
    }

    /// <summary>
    /// Waits for <paramref name="operation"/> at most <paramref name="timeout"/> (a <see cref="TimeoutException"/>
    /// after). The shared connection times out its own commands only after <see cref="RedisConnection.CommandTimeout"/>,
    /// the longer wait the authorization state needs; a user that fails open gives up sooner. A command abandoned that
    /// way may still fail later; it is observed, so that it is no unobserved exception.
    /// </summary>
    public static Task<T> Bounded<T>(Task<T> operation, TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (!operation.IsCompleted)
        {
            _ = operation.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return operation.WaitAsync(timeout, timeProvider, cancellationToken);
    }
}
