using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace EligibilityGateway.Caching;

/// <summary>
/// The gateway's one connection to Redis: a single <see cref="IConnectionMultiplexer"/>, registered by
/// <c>AddAnswerCache</c> and shared by every user (README.md, "One connection"): the answer cache, the consent-revocation
/// channel, the authorization server's shared state, failure throttles and revoked-token channel, the check rate limits, the federated
/// citizens and the data-protection key ring. A multiplexer is made to be shared: it pipelines every caller's commands
/// over one socket (and pub/sub over a second), reconnects by itself and restores its subscriptions.
/// </summary>
internal static class RedisConnection
{
    /// <summary>The name every gateway connection gives Redis (<c>CLIENT SETNAME</c>), so that operators can count them.</summary>
    public const string ClientName = "eligibility-gateway";

    /// <summary>True when <c>Cache:Redis</c> is set: there is a Redis to connect to.</summary>
    public static bool IsConfigured(CacheOptions options) => !string.IsNullOrWhiteSpace(options.Redis);

    /// <summary>
    /// How long the connection lets one command take: <see cref="CacheOptions.OperationTimeout"/>, at least a second. The
    /// authorization server's state, which does not fail open, waits this long; the answer cache and the failure
    /// throttles, which carry on without Redis, give up sooner, after <see cref="CacheOptions.OperationTimeout"/>.
    /// </summary>
    public static TimeSpan CommandTimeout(CacheOptions options) =>
        options.OperationTimeout > TimeSpan.FromSeconds(1) ? options.OperationTimeout : TimeSpan.FromSeconds(1);

    /// <summary>The client configuration: <c>Cache:Redis</c>, with the settings below overriding any given there.</summary>
    public static ConfigurationOptions Configuration(CacheOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var configuration = ConfigurationOptions.Parse(options.Redis!);
        var connectMilliseconds = (int)options.ConnectTimeout.TotalMilliseconds;
        var commandMilliseconds = (int)CommandTimeout(options).TotalMilliseconds;

        // Never abort on a failed connect: the gateway starts and answers while Redis is down, and the multiplexer keeps
        // trying, every ConnectTimeout, so that Redis is used again as soon as it is back.
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = connectMilliseconds;
        configuration.ConnectRetry = 1;
        configuration.ReconnectRetryPolicy = new LinearRetry(connectMilliseconds);
        configuration.SyncTimeout = commandMilliseconds;
        configuration.AsyncTimeout = commandMilliseconds;

        // The library's default backlog: a command issued while the connection is being made or remade waits for it, up to
        // the command timeout, so the key ring and the authorization state ride out a reconnect instead of failing
        // during it (failing fast also failed commands in the moment a new connection was not yet ready for them). The
        // answer cache and the failure throttles do not wait: they test IsConnected first and bound every command by
        // Cache:OperationTimeout.
        configuration.KeepAlive = 5;
        configuration.ClientName = ClientName;
        return configuration;
    }

    /// <summary>
    /// Makes the shared multiplexer (the <see cref="IConnectionMultiplexer"/> singleton's factory). Waits for the first
    /// attempt only, at most <see cref="CacheOptions.ConnectTimeout"/> (a refused connection fails at once), and returns
    /// connected or not; the host resolves it while starting (<c>CacheStoreStarter</c>), so no request waits for it.
    /// </summary>
    /// <exception cref="InvalidOperationException"><c>Cache:Redis</c> is not set.</exception>
    public static IConnectionMultiplexer Connect(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<CacheOptions>>().Value;
        if (!IsConfigured(options))
        {
            throw new InvalidOperationException("Cache:Redis is not set, so there is no Redis connection; check IsConfigured before asking for one.");
        }

        var configuration = Configuration(options);
        Log.UsingRedis(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RedisConnection).FullName!), string.Join(", ", configuration.EndPoints.Select(e => e.ToString())));
        return ConnectionMultiplexer.Connect(configuration);
    }
}
