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
    /// <summary>Records every call to the group's endpoints in the <see cref="CallLog"/>, first of all filters.</summary>
    public static TBuilder WithCallLog<TBuilder>(this TBuilder builder, ProviderKind provider)
        where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilterFactory((factoryContext, next) =>
        {
            var log = factoryContext.ApplicationServices.GetRequiredService<CallLog>();
            return invocation =>
            {
                log.Record(provider, invocation.HttpContext.Request);
                return next(invocation);
            };
        });
}
