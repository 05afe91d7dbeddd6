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
/// answered at once, and how many calls arrived, since the last reset.
/// </summary>
internal sealed record ProviderConcurrency(string Provider, int InFlight, int MaxInFlight, long Calls);

internal sealed record ProviderConcurrencyList(IReadOnlyList<ProviderConcurrency> Providers);

/// <summary>
/// Counts each provider's calls in flight (from arrival to the end of the answer, latency included) and the most at
/// once, so a test can prove what a caller's concurrency limit did at the provider's end.
/// </summary>
internal sealed class ConcurrencyMeter
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

        return new Exit(counter);
    }

    public ProviderConcurrencyList Snapshot() => new([.. ProviderKinds.All.Select((p, i) => new ProviderConcurrency(
        p.Slug(), Volatile.Read(ref counters[i].InFlight), Volatile.Read(ref counters[i].MaxInFlight), Interlocked.Read(ref counters[i].Calls)))]);

    /// <summary>Starts the maximum again from the calls in flight now, and the call count from zero.</summary>
    public void Reset()
    {
        foreach (var counter in counters)
        {
            Volatile.Write(ref counter.MaxInFlight, Volatile.Read(ref counter.InFlight));
            Interlocked.Exchange(ref counter.Calls, 0);
        }
    }

    private sealed class Counter
    {
        public int InFlight;
        public int MaxInFlight;
        public long Calls;
    }

    private sealed class Exit(Counter counter) : IDisposable
    {
        private int done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref done, 1) == 0)
            {
                Interlocked.Decrement(ref counter.InFlight);
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
