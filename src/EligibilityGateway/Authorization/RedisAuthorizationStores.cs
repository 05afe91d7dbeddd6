using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EligibilityGateway.Caching;
using EligibilityGateway.Security;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;

namespace EligibilityGateway.Authorization;

/// <summary>
/// The Redis connection and value sealing shared by the authorization server's cross-replica state that does not live
/// in its database (the consent page's decisions, used client-assertion ids, revoked client-credentials tokens) and the
/// data-protection key ring, when <c>Cache:Redis</c> is set. Unlike the answer cache this state does not fail open:
/// with Redis unreachable, a flow that needs it is refused (an assertion answers 503), never half-done.
/// </summary>
/// <remarks>
/// Keys are <c>egw:{kind}:v1:</c> followed by the hex SHA-256 of what they are found by (a request URI, an assertion
/// id), so Redis never holds a usable request URI, nor anything personal. Values are sealed with
/// AES-256-GCM under a key derived (HKDF) from the cache encryption key, with the Redis key as associated data, so a
/// value copied to another key does not open: a <see cref="SealedEnvelope"/> of version 1 holding UTF-8 JSON.
/// <para>
/// The request paths (the consent page, client authentication) use it asynchronously, through
/// <see cref="DatabaseAsync"/> and <see cref="Bounded{T}"/>. StackExchange.Redis 1.2.6 reads Redis's answers with
/// callbacks on the thread pool; a synchronous call blocks a pool thread until its answer has been read, so a handful
/// of concurrent requests blocked that way starved the very callbacks they waited for, and calls timed out with their
/// answers already in the socket. An awaited call holds no thread while it waits. The synchronous <see cref="Database"/> remains for callers whose interface is synchronous
/// (the data-protection key ring, the federated citizens, the revocation channel), off the request hot path.
/// </para>
/// </remarks>
internal sealed class SharedAuthorizationState : IDisposable
{
    private const byte FormatVersion = 1;

    private readonly Lazy<Task<ConnectionMultiplexer>> connection;
    private readonly IOptions<CacheOptions> options;
    private readonly TimeProvider timeProvider;
    private readonly byte[] sealingKey;

    public SharedAuthorizationState(IConfiguration configuration, IOptions<CacheOptions> options, KeyRing keyRing, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(keyRing);
        ArgumentNullException.ThrowIfNull(timeProvider);

        // Read from configuration rather than the validated options: ASP.NET Core asks for the data-protection options
        // (and so for this) while the application is built, before start-up validation reports a bad Cache section
        // with its own message. The connection itself uses the validated options.
        IsEnabled = !string.IsNullOrWhiteSpace(configuration.GetSection(CacheOptions.SectionName)[nameof(CacheOptions.Redis)]);
        this.options = options;
        this.timeProvider = timeProvider;
        sealingKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, keyRing.CacheEncryptionKey, 32, salt: [], info: "eligibility-gateway/authorization-state/v1"u8.ToArray());
        connection = new Lazy<Task<ConnectionMultiplexer>>(ConnectAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>True when <c>Cache:Redis</c> is set: several replicas may share this state.</summary>
    public bool IsEnabled { get; }

    /// <summary>How long one command may take: <see cref="CacheOptions.OperationTimeout"/>, at least a second.</summary>
    public TimeSpan OperationTimeout => TimeSpan.FromMilliseconds(Math.Max(options.Value.OperationTimeout.TotalMilliseconds, 1000));

    /// <summary>For synchronous callers only; the request paths use <see cref="DatabaseAsync"/>.</summary>
    public IDatabase Database => Multiplexer.GetDatabase();

    /// <summary>The shared connection (commands and, on its own socket, pub/sub), waiting for the first connect if need be.</summary>
    public ConnectionMultiplexer Multiplexer => connection.Value.GetAwaiter().GetResult();

    /// <summary>The database, once the first connect (at most <see cref="CacheOptions.ConnectTimeout"/>) has completed, without blocking a thread.</summary>
    public async ValueTask<IDatabase> DatabaseAsync() => (await connection.Value.ConfigureAwait(false)).GetDatabase();

    /// <summary>
    /// Waits for <paramref name="operation"/> at most <see cref="OperationTimeout"/> (a <see cref="TimeoutException"/>
    /// after): StackExchange.Redis 1.x does not time out asynchronous commands itself.
    /// </summary>
    public Task<T> Bounded<T>(Task<T> operation, CancellationToken cancellationToken) =>
        RedisBackOff.Bounded(operation, OperationTimeout, timeProvider, cancellationToken);

    /// <summary>The Redis key of a record of <paramref name="kind"/> found by <paramref name="secret"/>.</summary>
    public static string Key(string kind, string secret) =>
        $"egw:{kind}:v1:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public byte[] Seal<T>(string key, T value) =>
        SealedEnvelope.Seal(sealingKey, FormatVersion, JsonSerializer.SerializeToUtf8Bytes(value), Encoding.UTF8.GetBytes(key));

    /// <summary>The value sealed under <paramref name="key"/>; default when it is absent, altered, moved or unreadable.</summary>
    public T? Unseal<T>(string key, RedisValue stored)
    {
        if (stored.IsNull || SealedEnvelope.Open(sealingKey, FormatVersion, (byte[])stored!, Encoding.UTF8.GetBytes(key)) is not { } plaintext)
        {
            return default;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(plaintext);
        }
        catch (JsonException)
        {
            return default;
        }
    }

    /// <summary>
    /// Atomically reads and deletes a key (Redis 6.2 <c>GETDEL</c>, which StackExchange.Redis 1.2.6 has no method for,
    /// as a script): of two replicas taking the same single-use record, exactly one gets it.
    /// </summary>
    public async Task<RedisValue> TakeValueAsync(string key, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync().ConfigureAwait(false);
        return (RedisValue)await Bounded(database.ScriptEvaluateAsync(TakeScript, [key]), cancellationToken).ConfigureAwait(false);
    }

    private const string TakeScript = "local v = redis.call('GET', KEYS[1]) if v then redis.call('DEL', KEYS[1]) end return v";

    public void Dispose()
    {
        if (connection.IsValueCreated)
        {
            // A connect still under way is closed when it completes.
            _ = connection.Value.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var settings = options.Value;
        var redis = ConfigurationOptions.Parse(settings.Redis!);
        redis.AbortOnConnectFail = false;
        redis.ConnectTimeout = (int)settings.ConnectTimeout.TotalMilliseconds;
        redis.SyncTimeout = (int)OperationTimeout.TotalMilliseconds;
        redis.AsyncTimeout = redis.SyncTimeout;
        // Fail at once while disconnected, as a flow that needs this state is refused rather than left waiting.
        redis.BacklogPolicy = BacklogPolicy.FailFast;
        redis.ReconnectRetryPolicy = new LinearRetry(redis.ConnectTimeout);
        redis.KeepAlive = 5;
        redis.ClientName = "eligibility-gateway-authorization";
        return await ConnectionMultiplexer.ConnectAsync(redis).ConfigureAwait(false);
    }
}

/// <summary>
/// <see cref="IAuthorizationDecisionStore"/> in Redis, so that the consent form's POST and the GET its 303 leads to may
/// land on different replicas; an atomic get-and-delete takes a decision once. Every command is awaited, bounded by
/// <see cref="SharedAuthorizationState.OperationTimeout"/>; with Redis unreachable the decision is lost and the citizen
/// is told there is nothing to continue, never given a 500.
/// </summary>
internal sealed class RedisAuthorizationDecisionStore(SharedAuthorizationState state, TimeProvider timeProvider, ILogger<RedisAuthorizationDecisionStore> logger) : IAuthorizationDecisionStore
{
    public async ValueTask AddDecisionAsync(string requestUri, AuthorizationDecision decision, CancellationToken cancellationToken)
    {
        var key = SharedAuthorizationState.Key("par-decision", requestUri);
        var ttl = decision.ExpiresAt - timeProvider.GetUtcNow();
        await GuardAsync(async database => await state.Bounded(database.StringSetAsync(key, state.Seal(key, decision), ttl > TimeSpan.FromSeconds(1) ? ttl : TimeSpan.FromSeconds(1)), cancellationToken).ConfigureAwait(false), false).ConfigureAwait(false);
    }

    public ValueTask<AuthorizationDecision?> TakeDecisionAsync(string requestUri, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = SharedAuthorizationState.Key("par-decision", requestUri);
        return GuardAsync(
            async _ => state.Unseal<AuthorizationDecision>(key, await state.TakeValueAsync(key, cancellationToken).ConfigureAwait(false)) is { } decision && decision.ExpiresAt > now ? decision : null,
            null);
    }

    private async ValueTask<T> GuardAsync<T>(Func<IDatabase, Task<T>> operation, T unavailable)
    {
        try
        {
            return await operation(await state.DatabaseAsync().ConfigureAwait(false)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.SharedStateUnavailable(logger, "authorization decision", ex.GetType().Name);
            return unavailable;
        }
    }
}

/// <summary>
/// <see cref="IClientAssertionReplayCache"/> in Redis (<c>SET NX PX</c>), so that a client assertion used at one replica
/// is a replay at every other. With Redis unreachable the assertion is refused (503): forgetting a <c>jti</c> is not safe.
/// </summary>
internal sealed class RedisClientAssertionReplayCache(SharedAuthorizationState state, TimeProvider timeProvider, ILogger<RedisClientAssertionReplayCache> logger) : IClientAssertionReplayCache
{
    public async ValueTask<ReplayCheck> TryRecordAsync(string clientId, string tokenId, DateTimeOffset keepUntil, CancellationToken cancellationToken)
    {
        var key = SharedAuthorizationState.Key("assertion", clientId + "\n" + tokenId);
        var ttl = keepUntil - timeProvider.GetUtcNow();
        try
        {
            var database = await state.DatabaseAsync().ConfigureAwait(false);
            return await state.Bounded(database.StringSetAsync(key, "1", ttl > TimeSpan.FromSeconds(1) ? ttl : TimeSpan.FromSeconds(1), When.NotExists), cancellationToken).ConfigureAwait(false)
                ? ReplayCheck.FirstUse
                : ReplayCheck.Replayed;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.SharedStateUnavailable(logger, "client assertion replay cache", ex.GetType().Name);
            return ReplayCheck.Unavailable;
        }
    }
}
