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
/// in its database (the consent page's decisions, used client-assertion ids, revoked client-credentials tokens, the
/// failure throttles, federated citizens), when <c>Cache:Redis</c> is set. The connection is the gateway's one
/// multiplexer (<see cref="RedisConnection"/>), whose commands time out after <see cref="RedisConnection.CommandTimeout"/>.
/// Unlike the answer cache this state does not fail open: with Redis unreachable, a flow that needs it is refused (an
/// assertion answers 503), never half-done.
/// </summary>
/// <remarks>
/// Keys are <c>egw:{kind}:v1:</c> followed by the hex SHA-256 of what they are found by (a request URI, an assertion
/// id), so Redis never holds a usable request URI, nor anything personal. Values are sealed with
/// AES-256-GCM under a key derived (HKDF) from the cache encryption key, with the Redis key as associated data, so a
/// value copied to another key does not open: a <see cref="SealedEnvelope"/> of version 1 holding UTF-8 JSON.
/// </remarks>
internal sealed class SharedAuthorizationState
{
    private const byte FormatVersion = 1;

    private readonly IConnectionMultiplexer? redis;
    private readonly byte[] sealingKey;

    /// <param name="redis">The shared connection; null when <c>Cache:Redis</c> is not set (one replica, in-memory state).</param>
    /// <param name="keyRing">Gives the key the values are sealed under.</param>
    public SharedAuthorizationState(IConnectionMultiplexer? redis, KeyRing keyRing)
    {
        ArgumentNullException.ThrowIfNull(keyRing);
        this.redis = redis;
        sealingKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, keyRing.CacheEncryptionKey, 32, salt: [], info: "eligibility-gateway/authorization-state/v1"u8.ToArray());
    }

    /// <summary>True when <c>Cache:Redis</c> is set: several replicas may share this state.</summary>
    public bool IsEnabled => redis is not null;

    /// <summary>The gateway's one Redis connection (commands and, on its own socket, pub/sub).</summary>
    /// <exception cref="InvalidOperationException"><c>Cache:Redis</c> is not set (<see cref="IsEnabled"/> is false).</exception>
    public IConnectionMultiplexer Multiplexer => redis ?? throw new InvalidOperationException("Cache:Redis is not set: the authorization state is not shared.");

    /// <summary>The database. Request paths await its commands; the synchronous ones are for synchronous interfaces.</summary>
    public IDatabase Database => Multiplexer.GetDatabase();

    /// <summary>The state on the shared connection when <c>Cache:Redis</c> is set, in process otherwise (the factory DI uses).</summary>
    public static SharedAuthorizationState Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<CacheOptions>>().Value;
        return new SharedAuthorizationState(
            RedisConnection.IsConfigured(options) ? services.GetRequiredService<IConnectionMultiplexer>() : null,
            services.GetRequiredService<KeyRing>());
    }

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
    /// Atomically reads and deletes a key (<c>GETDEL</c>, Redis 6.2 or later): of two replicas taking the same
    /// single-use record, exactly one gets it.
    /// </summary>
    public Task<RedisValue> TakeValueAsync(string key) => Database.StringGetDeleteAsync(key);
}

/// <summary>
/// <see cref="IAuthorizationDecisionStore"/> in Redis, so that the consent form's POST and the GET its 303 leads to may
/// land on different replicas; an atomic get-and-delete takes a decision once. Every command is awaited, bounded by
/// <see cref="RedisConnection.CommandTimeout"/>; with Redis unreachable the decision is lost and the citizen
/// is told there is nothing to continue, never given a 500.
/// </summary>
internal sealed class RedisAuthorizationDecisionStore(SharedAuthorizationState state, TimeProvider timeProvider, ILogger<RedisAuthorizationDecisionStore> logger) : IAuthorizationDecisionStore
{
    public async ValueTask AddDecisionAsync(string requestUri, AuthorizationDecision decision, CancellationToken cancellationToken)
    {
        var key = SharedAuthorizationState.Key("par-decision", requestUri);
        var ttl = decision.ExpiresAt - timeProvider.GetUtcNow();
        await GuardAsync(database => database.StringSetAsync(key, state.Seal(key, decision), ttl > TimeSpan.FromSeconds(1) ? ttl : TimeSpan.FromSeconds(1)).WaitAsync(cancellationToken), false).ConfigureAwait(false);
    }

    public ValueTask<AuthorizationDecision?> TakeDecisionAsync(string requestUri, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = SharedAuthorizationState.Key("par-decision", requestUri);
        return GuardAsync(
            async _ => state.Unseal<AuthorizationDecision>(key, await state.TakeValueAsync(key).WaitAsync(cancellationToken).ConfigureAwait(false)) is { } decision && decision.ExpiresAt > now ? decision : null,
            null);
    }

    private async ValueTask<T> GuardAsync<T>(Func<IDatabase, Task<T>> operation, T unavailable)
    {
        try
        {
            return await operation(state.Database).ConfigureAwait(false);
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
            return await state.Database.StringSetAsync(key, "1", ttl > TimeSpan.FromSeconds(1) ? ttl : TimeSpan.FromSeconds(1), When.NotExists).WaitAsync(cancellationToken).ConfigureAwait(false)
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
