using System.Diagnostics.Metrics;
using EligibilityGateway.Telemetry;

namespace EligibilityGateway.Caching;

/// <summary>
/// Cache counters on the gateway's meter, from which the cache hit ratio follows. Tags are the store (<c>redis</c>,
/// <c>memory</c>) and a result; never a key.
/// </summary>
internal sealed class CacheMetrics
{
    public const string LookupsName = "eligibility_gateway.cache.lookups";
    public const string WritesName = "eligibility_gateway.cache.writes";
    public const string StoreFailuresName = "eligibility_gateway.cache.store_failures";

    private readonly Counter<long> lookups;
    private readonly Counter<long> writes;
    private readonly Counter<long> storeFailures;

    public CacheMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(GatewayTelemetry.MeterName);
        lookups = meter.CreateCounter<long>(LookupsName, unit: "{lookup}", description: "Answer cache lookups by result: hit, miss, unreadable (failed to open; treated as a miss) or unavailable (store down; treated as a miss).");
        writes = meter.CreateCounter<long>(WritesName, unit: "{write}", description: "Answer cache writes by result: stored or skipped (store down, or nothing left of the TTL).");
        storeFailures = meter.CreateCounter<long>(StoreFailuresName, unit: "{failure}", description: "Redis operations that failed or timed out; each opens a back-off window in which Redis is bypassed.");
    }

    public void Lookup(string store, string result) => lookups.Add(1, new KeyValuePair<string, object?>("store", store), new KeyValuePair<string, object?>("result", result));

    public void Write(string store, string result) => writes.Add(1, new KeyValuePair<string, object?>("store", store), new KeyValuePair<string, object?>("result", result));

    public void StoreFailed(string store) => storeFailures.Add(1, new KeyValuePair<string, object?>("store", store));
}
