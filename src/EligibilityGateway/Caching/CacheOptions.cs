using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace EligibilityGateway.Caching;

/// <summary>Configuration section <c>Cache</c>.</summary>
internal sealed class CacheOptions
{
    public const string SectionName = "Cache";

    /// <summary>Redis to keep answers in, shared by every replica.</summary>
    /// <value>
    /// Default unset: answers are kept in process memory. Either <c>host:port</c> or a StackExchange.Redis
    /// configuration string (<c>host:port,password=…,ssl=true</c>); the timeouts below override any given there, and
    /// <c>abortConnect</c> is always false so that the gateway starts and answers while Redis is down.
    /// </value>
    public string? Redis { get; set; }

    /// <summary>How long one attempt to (re)connect to Redis may take; also the reconnect interval.</summary>
    /// <value>Default 1 second; from 50 ms to 5 seconds.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a Redis read or write may take before it counts as a miss or a skipped write. The shared connection
    /// times out its commands after this or 1 second, whichever is longer (<see cref="RedisConnection.CommandTimeout"/>),
    /// which is what the authorization state, which does not fail open, waits.
    /// </summary>
    /// <value>Default 250 ms; from 10 ms to 5 seconds. A healthy local Redis answers in well under a millisecond.</value>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>After a Redis failure, how long every request bypasses Redis before one request tries it again.</summary>
    /// <value>Default 2 seconds; from 100 ms to 5 seconds.</value>
    public TimeSpan BackOff { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Upper bound on the bytes the in-process cache holds (sealed values plus per-entry overhead).</summary>
    /// <value>Default 64 MiB (about 300,000 answers); from 1 MiB to 16 GiB. Unused when <see cref="Redis"/> is set.</value>
    public long MemorySizeLimitBytes { get; set; } = 64L * 1024 * 1024;
}

/// <summary>Checks <see cref="CacheOptions"/> at start-up, field by field and across fields.</summary>
internal sealed class CacheOptionsValidator : IValidateOptions<CacheOptions>
{
    // Cache hits resume within 10 s of Redis's return (README.md). Recovery takes up to one reconnect interval
    // (ConnectTimeout) plus the heartbeat that notices it (1 s) plus one back-off window; keep 2 s in hand.
    internal static readonly TimeSpan RecoveryBudget = TimeSpan.FromSeconds(8);

    public ValidateOptionsResult Validate(string? name, CacheOptions options)
    {
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Redis))
        {
            try
            {
                if (ConfigurationOptions.Parse(options.Redis).EndPoints.Count == 0)
                {
                    failures.Add("Cache:Redis names no endpoint; give host:port.");
                }
            }
            catch (ArgumentException ex)
            {
                failures.Add($"Cache:Redis is not a valid Redis configuration: {ex.Message}");
            }
        }

        Range(failures, "Cache:ConnectTimeout", options.ConnectTimeout, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(5));
        Range(failures, "Cache:OperationTimeout", options.OperationTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromSeconds(5));
        Range(failures, "Cache:BackOff", options.BackOff, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5));
        if (options.ConnectTimeout + options.BackOff > RecoveryBudget)
        {
            failures.Add($"Cache:ConnectTimeout plus Cache:BackOff must not exceed {RecoveryBudget.TotalSeconds:0} seconds, so that cache hits resume within 10 seconds of Redis returning.");
        }

        if (options.MemorySizeLimitBytes is < 1024 * 1024 or > 16L * 1024 * 1024 * 1024)
        {
            failures.Add("Cache:MemorySizeLimitBytes must be from 1048576 (1 MiB) to 17179869184 (16 GiB).");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Range(List<string> failures, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{key} must be from {min} to {max}.");
        }
    }
}
