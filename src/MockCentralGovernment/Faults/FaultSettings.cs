namespace MockCentralGovernment.Faults;

/// <summary>
/// How one provider misbehaves. Immutable: the control API builds a new instance and swaps it in atomically, so a
/// request sees either the old settings or the new ones, never a mix.
/// </summary>
/// <param name="LatencyMilliseconds">Fixed delay before every answer.</param>
/// <param name="JitterMilliseconds">Extra delay drawn uniformly from [0, jitter] per request.</param>
/// <param name="ErrorRate">Share of requests (0–1) answered 500, or 503 with Retry-After.</param>
/// <param name="TimeoutRate">Share of requests (0–1) held for <paramref name="TimeoutHoldMilliseconds"/> (or until the client gives up) and then answered 504.</param>
/// <param name="TimeoutHoldMilliseconds">How long a timed-out request is held.</param>
/// <param name="Outage">Every request answered 503 at once.</param>
internal sealed record FaultSettings(
    int LatencyMilliseconds,
    int JitterMilliseconds,
    double ErrorRate,
    double TimeoutRate,
    int TimeoutHoldMilliseconds,
    bool Outage)
{
    /// <summary>Upper bound on any delay the control API accepts: ten minutes.</summary>
    public const int MaxMilliseconds = 600_000;

    /// <summary>True when requests pass straight through — the benchmark path takes no other branch.</summary>
    public bool IsQuiet => LatencyMilliseconds == 0 && JitterMilliseconds == 0 && ErrorRate == 0 && TimeoutRate == 0 && !Outage;

    public static FaultSettings None(int timeoutHoldMilliseconds) => new(0, 0, 0, 0, timeoutHoldMilliseconds, false);
}
