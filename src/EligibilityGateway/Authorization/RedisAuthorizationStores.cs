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
/// The Redis connection and value sealing shared by the authorization server's cross-replica state (pending PAR
/// requests, decisions, authorization codes) and the data-protection key ring, when <c>Cache:Redis</c> is set.
/// Unlike the answer cache this state does not fail open: with Redis unreachable, a flow that needs it is refused
/// (PAR answers 503 <c>temporarily_unavailable</c>, a code is <c>invalid_grant</c>), never half-done.
/// </summary>
/// <remarks>
/// Keys are <c>egw:{kind}:v1:</c> followed by the hex SHA-256 of the secret they are found by (a request URI, a
/// code), so Redis never holds a usable request URI or code, nor anything personal. Values are sealed with
/// AES-256-GCM under a key derived (HKDF) from the cache encryption key, with the Redis key as associated data, so a
/// value copied to another key does not open: a <see cref="SealedEnvelope"/> of version 1 holding UTF-8 JSON.
/// The calls are synchronous because the stores' callers are (the consent page, PAR, the code exchange); each is one
/// round trip on loopback or a LAN, bounded by <see cref="CacheOptions.OperationTimeout"/>, on low-rate paths.
/// </remarks>
internal sealed class SharedAuthorizationState : IDisposable
{
    private const byte FormatVersion = 1;

    private readonly Lazy<ConnectionMultiplexer> connection;
    private readonly byte[] sealingKey;

    public SharedAuthorizationState(IConfiguration configuration, IOptions<CacheOptions> options, KeyRing keyRing)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(keyRing);

        // Read from configuration rather than the validated options: ASP.NET Core asks for the data-protection options
        // (and so for this) while the application is built, before start-up validation reports a bad Cache section
        // with its own message. The connection itself uses the validated options.
        IsEnabled = !string.IsNullOrWhiteSpace(configuration.GetSection(CacheOptions.SectionName)[nameof(CacheOptions.Redis)]);
        sealingKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, keyRing.CacheEncryptionKey, 32, salt: [], info: "eligibility-gateway/authorization-state/v1"u8.ToArray());
        connection = new Lazy<ConnectionMultiplexer>(
            () =>
            {
                var settings = options.Value;
                var redis = ConfigurationOptions.Parse(settings.Redis!);
                redis.AbortOnConnectFail = false;
                redis.ConnectTimeout = (int)settings.ConnectTimeout.TotalMilliseconds;
                redis.SyncTimeout = (int)Math.Max(settings.OperationTimeout.TotalMilliseconds, 1000);
                redis.ResponseTimeout = redis.SyncTimeout;
                redis.ReconnectRetryPolicy = new LinearRetry(redis.ConnectTimeout);
                redis.KeepAlive = 5;
                redis.ClientName = "eligibility-gateway-authorization";
                return ConnectionMultiplexer.Connect(redis);
            },
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>True when <c>Cache:Redis</c> is set: several replicas may share this state.</summary>
    public bool IsEnabled { get; }

    public IDatabase Database => connection.Value.GetDatabase();

    /// <summary>The shared connection (commands and, on its own socket, pub/sub).</summary>
    public ConnectionMultiplexer Multiplexer => connection.Value;

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
    public RedisValue TakeValue(string key) =>
        (RedisValue)Database.ScriptEvaluate("local v = redis.call('GET', KEYS[1]) if v then redis.call('DEL', KEYS[1]) end return v", [key]);

    public void Dispose()
    {
        if (connection.IsValueCreated)
        {
            connection.Value.Dispose();
        }
    }
}

/// <summary>
/// <see cref="IPendingAuthorizationStore"/> in Redis, so that a request pushed to one replica can be authorised on
/// another: <c>SET NX PX</c> to add, an atomic get-and-delete to take (RFC 9126 §4: single use across replicas).
/// </summary>
internal sealed class RedisPendingAuthorizationStore(SharedAuthorizationState state, TimeProvider timeProvider, ILogger<RedisPendingAuthorizationStore> logger) : IPendingAuthorizationStore
{
    public PendingAuthorizationAdd TryAdd(PendingAuthorization pending)
    {
        // A request URI is 256 random bits, so SET NX fails only if one repeats; that is no reason to tell the client
        // the store is full. Redis's own limit (maxmemory) answers an error, which is Unavailable like a timeout.
        var key = SharedAuthorizationState.Key("par", pending.RequestUri);
        return Guard(
            () => state.Database.StringSet(key, state.Seal(key, pending), Ttl(pending.ExpiresAt), When.NotExists) ? PendingAuthorizationAdd.Added : PendingAuthorizationAdd.Unavailable,
            PendingAuthorizationAdd.Unavailable);
    }

    public PendingAuthorization? Find(string requestUri, DateTimeOffset now)
    {
        var key = SharedAuthorizationState.Key("par", requestUri);
        return Guard(() => state.Unseal<PendingAuthorization>(key, state.Database.StringGet(key)) is { } found && found.ExpiresAt > now && found.RequestUri == requestUri ? found : null, null);
    }

    public PendingAuthorization? TryTake(string requestUri, DateTimeOffset now)
    {
        var key = SharedAuthorizationState.Key("par", requestUri);
        return Guard(() => state.Unseal<PendingAuthorization>(key, state.TakeValue(key)) is { } found && found.ExpiresAt > now && found.RequestUri == requestUri ? found : null, null);
    }

    public void AddDecision(string requestUri, AuthorizationDecision decision)
    {
        var key = SharedAuthorizationState.Key("par-decision", requestUri);
        Guard(() => state.Database.StringSet(key, state.Seal(key, decision), Ttl(decision.ExpiresAt)), false);
    }

    public AuthorizationDecision? TakeDecision(string requestUri, DateTimeOffset now)
    {
        var key = SharedAuthorizationState.Key("par-decision", requestUri);
        return Guard(() => state.Unseal<AuthorizationDecision>(key, state.TakeValue(key)) is { } decision && decision.ExpiresAt > now ? decision : null, null);
    }

    private TimeSpan Ttl(DateTimeOffset expiresAt) => Max(expiresAt - timeProvider.GetUtcNow(), TimeSpan.FromSeconds(1));

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private T Guard<T>(Func<T> operation, T unavailable)
    {
        try
        {
            return operation();
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.SharedStateUnavailable(logger, "pending authorization", ex.GetType().Name);
            return unavailable;
        }
    }
}

/// <summary>
/// <see cref="IAuthorizationCodeStore"/> in Redis: a code issued on one replica is redeemed on any, exactly once. The
/// grant is sealed under the code's hash; redemption is <c>SET NX</c> of a marker beside it, which only one replica
/// can win; the families a code started are a set beside it, so that a replay on any replica learns what to revoke.
/// </summary>
internal sealed class RedisAuthorizationCodeStore(SharedAuthorizationState state, TimeProvider timeProvider, ILogger<RedisAuthorizationCodeStore> logger) : IAuthorizationCodeStore
{
    public string? Issue(Func<DateTimeOffset, AuthorizationCodeGrant> grant)
    {
        var now = timeProvider.GetUtcNow();
        var code = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var key = SharedAuthorizationState.Key("code", code);
        try
        {
            return state.Database.StringSet(key, state.Seal(key, grant(now + AuthorizationCodeStore.Lifetime)), AuthorizationCodeStore.Lifetime + AuthorizationCodeStore.Retention, When.NotExists)
                ? code
                : null;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.SharedStateUnavailable(logger, "authorization code", ex.GetType().Name);
            return null;
        }
    }

    public CodeRedemption Redeem(string code)
    {
        var key = SharedAuthorizationState.Key("code", code);
        try
        {
            var database = state.Database;
            if (state.Unseal<AuthorizationCodeGrant>(key, database.StringGet(key)) is not { } grant)
            {
                return new CodeRedemption.Refused([]);
            }

            var redeemed = key + ":redeemed";
            if (grant.ExpiresAt <= timeProvider.GetUtcNow())
            {
                return database.KeyExists(redeemed) ? new CodeRedemption.Refused(Families(database, key)) : new CodeRedemption.Refused([]);
            }

            // Of every replica redeeming this code, exactly one sets the marker.
            return database.StringSet(redeemed, "1", AuthorizationCodeStore.Lifetime + AuthorizationCodeStore.Retention, When.NotExists)
                ? new CodeRedemption.Redeemed(grant)
                : new CodeRedemption.Refused(Families(database, key));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.SharedStateUnavailable(logger, "authorization code", ex.GetType().Name);
            return new CodeRedemption.Refused([]);
        }
    }

    public void RecordIssued(string code, string familyId)
    {
        var families = SharedAuthorizationState.Key("code", code) + ":families";
        try
        {
            var database = state.Database;
            database.SetAdd(families, familyId);
            database.KeyExpire(families, AuthorizationCodeStore.Lifetime + AuthorizationCodeStore.Retention);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.SharedStateUnavailable(logger, "authorization code", ex.GetType().Name);
        }
    }

    private static ImmutableArray<string> Families(IDatabase database, string key) =>
        [.. database.SetMembers(key + ":families").Select(v => (string)v!)];
}
