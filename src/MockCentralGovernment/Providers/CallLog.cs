using System.Collections.Concurrent;
using EligibilityGateway.ProviderContracts;

namespace MockCentralGovernment.Providers;

/// <summary>One call that reached a provider's API, as <c>GET /_control/calls</c> shows it: where it went and its caller headers.</summary>
internal sealed record RecordedCall(
    DateTimeOffset At,
    string Provider,
    string Method,
    string Path,
    string? CorrelationId,
    string? RequestingOrganisation,
    string? Scheme,
    string? Purpose,
    string? Traceparent);

internal sealed record RecordedCallList(IReadOnlyList<RecordedCall> Calls);

/// <summary>
/// One provider's concurrency as <c>GET /_control/concurrency</c> shows it: calls being answered now, the most ever
/// answered at once, how many calls arrived, and how long the calls that ended took on average (the set latency
/// included), since the last reset; each over the span <see cref="ConcurrencyMeter"/> times.
/// </summary>
internal sealed record ProviderConcurrency(string Provider, int InFlight, int MaxInFlight, long Calls, double MeanCallMilliseconds);

internal sealed record ProviderConcurrencyList(IReadOnlyList<ProviderConcurrency> Providers);

/// <summary>
/// Counts each provider's calls in flight (from the moment a call, its request read and routed, reaches the API's
/// filters until its answer is ready to write, latency included; reading the request and writing the answer are not
/// counted) and the most at once, so a test can prove what a caller's concurrency limit did at the provider's end; and
/// how long calls took, so a benchmark can tell the latency it set from the latency callers got.
/// </summary>
internal sealed class ConcurrencyMeter(TimeProvider time)
{
    private readonly Counter[] counters = [.. ProviderKinds.All.Select(_ => new Counter())];

    public IDisposable Enter(ProviderKind provider)
    {
        var counter = counters[(int)provider];
        Interlocked.Increment(ref counter.Calls);
        var now = Interlocked.Increment(ref counter.InFlight);
        for (var max = Volatile.Read(ref counter.MaxInFlight); now > max; max = Volatile.Read(ref counter.MaxInFlight))
        {
            if (Interlocked.CompareExchange(ref counter.MaxInFlight, now, max) == max)
            {
                break;
            }
        }

        return new Exit(counter, time, time.GetTimestamp());
    }

    public ProviderConcurrencyList Snapshot() => new([.. ProviderKinds.All.Select((p, i) => new ProviderConcurrency(
        p.Slug(), Volatile.Read(ref counters[i].InFlight), Volatile.Read(ref counters[i].MaxInFlight), Interlocked.Read(ref counters[i].Calls),
        counters[i].MeanMilliseconds(time)))]);

    /// <summary>Starts the maximum again from the calls in flight now, and the call count and mean from zero.</summary>
    public void Reset()
    {
        foreach (var counter in counters)
        {
            Volatile.Write(ref counter.MaxInFlight, Volatile.Read(ref counter.InFlight));
            Interlocked.Exchange(ref counter.Calls, 0);
            lock (counter.Gate)
            {
                counter.Ended = 0;
                counter.Timestamps = 0;
            }
        }
    }

    private sealed class Counter
    {
        public int InFlight;
        public int MaxInFlight;
        public long Calls;

        public readonly Lock Gate = new();

        /// <summary>Calls ended and their total duration in <see cref="TimeProvider"/> timestamp units, under <see cref="Gate"/>.</summary>
        public long Ended;
        public long Timestamps;

        public double MeanMilliseconds(TimeProvider time)
        {
            lock (Gate)
            {
                return Ended == 0 ? 0 : Math.Round(Timestamps * 1000.0 / time.TimestampFrequency / Ended, 2);
            }
        }
    }

    private sealed class Exit(Counter counter, TimeProvider time, long started) : IDisposable
    {
        private int done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref done, 1) == 0)
            {
                var took = time.GetTimestamp() - started;
                Interlocked.Decrement(ref counter.InFlight);
                lock (counter.Gate)
                {
                    counter.Ended++;
                    counter.Timestamps += took;
                }
            }
        }
    }
}

/// <summary>
/// The most recent <see cref="Capacity"/> calls to the provider APIs, oldest first, for tests and the sandbox to see
/// what a caller sent (contracts/providers/README.md, "Control API"). Every call is recorded as it arrives — before
/// faults, credential and caller-header checks — so refused calls and retries show too. Bodies are never kept: they
/// hold the personal data.
/// </summary>
internal sealed class CallLog(TimeProvider time)
{
    public const int Capacity = 1000;

    /// <summary>Longest header value kept; anything longer is cut.</summary>
    private const int MaxValueLength = 200;

    private readonly ConcurrentQueue<RecordedCall> _calls = new();

    public IReadOnlyList<RecordedCall> Snapshot() => [.. _calls];

    public void Clear() => _calls.Clear();

    public void Record(ProviderKind provider, HttpRequest request)
    {
        _calls.Enqueue(new RecordedCall(
            time.GetUtcNow(),
            provider.Slug(),
            request.Method,
            request.PathBase.Add(request.Path).Value ?? "",
            Header(request, ProviderCallerHeaders.CorrelationId),
            Header(request, ProviderCallerHeaders.RequestingOrganisation),
            Header(request, ProviderCallerHeaders.Scheme),
            Header(request, ProviderCallerHeaders.Purpose),
            Header(request, "traceparent")));
        while (_calls.Count > Capacity && _calls.TryDequeue(out _))
        {
        }
    }

    private static string? Header(HttpRequest request, string name)
    {
        var values = request.Headers[name];
        if (values.Count == 0)
        {
            return null;
        }

        var value = values.ToString();
        return value.Length > MaxValueLength ? value[..MaxValueLength] : value;
    }
}

internal static class CallLogging
{
    /// <summary>Records every call to the group's endpoints in the <see cref="CallLog"/> and the <see cref="ConcurrencyMeter"/>, first of all filters.</summary>
    public static TBuilder WithCallLog<TBuilder>(this TBuilder builder, ProviderKind provider)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory((factoryContext, next) =>
        {
            var log = factoryContext.ApplicationServices.GetRequiredService<CallLog>();
            var meter = factoryContext.ApplicationServices.GetRequiredService<ConcurrencyMeter>();
            return async invocation =>
            {
                log.Record(provider, invocation.HttpContext.Request);
                using (meter.Enter(provider))
                {
                    return await next(invocation);
                }
            };
        });
}
