using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace EligibilityGateway.Caching;

/// <summary>
/// Tells every replica sharing Redis that a consent was revoked (README.md: within 1 s on every replica), over
/// the pub/sub channel <see cref="Channel"/>. A message carries the consent id, the council id and the sending
/// replica's random id, and nothing else: no subject reference, no cache key, no personal data.
/// <para>
/// Subscribes when the host starts, on the gateway's one Redis connection (<see cref="RedisConnection"/>), without
/// waiting for Redis: a Redis that is down holds up neither start-up nor revocation, which the shared consent store
/// already enforces. The multiplexer keeps the subscription through disconnects and makes it again on every
/// reconnect, including one made while Redis was down at start.
/// </para>
/// </summary>
internal sealed class RedisRevocationChannel : IHostedService
{
    /// <summary>The channel name; versioned, so that a change of message format gets a channel of its own.</summary>
    public const string Channel = "egw:consent-revoked:v1";

    private static readonly RedisChannel RedisChannelName = RedisChannel.Literal(Channel);

    private readonly CacheOptions options;
    private readonly RevokedConsents revoked;
    private readonly TimeProvider timeProvider;
    private readonly ILogger<RedisRevocationChannel> logger;
    private readonly IConnectionMultiplexer? redis;
    private readonly string replicaId = Guid.NewGuid().ToString("N");

    /// <param name="options">The cache options: the operation timeout bounds an announcement.</param>
    /// <param name="revoked">Where revocations learnt from other replicas are recorded.</param>
    /// <param name="timeProvider">Time, for the bound.</param>
    /// <param name="logger">Logs subscriptions and announcements: ids only.</param>
    /// <param name="redis">The shared connection; null when <c>Cache:Redis</c> is not set (one replica, nobody to tell).</param>
    public RedisRevocationChannel(IOptions<CacheOptions> options, RevokedConsents revoked, TimeProvider timeProvider, ILogger<RedisRevocationChannel> logger, IConnectionMultiplexer? redis)
    {
        this.options = options.Value;
        this.revoked = revoked;
        this.timeProvider = timeProvider;
        this.logger = logger;
        this.redis = redis;
    }

    /// <summary>True when Redis is configured, so that there are replicas to tell.</summary>
    public bool IsEnabled => redis is not null;

    /// <summary>True while this replica is subscribed to <see cref="Channel"/> on a connected Redis.</summary>
    public bool IsSubscribed => redis?.GetSubscriber().SubscribedEndpoint(RedisChannelName) is not null;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (redis is not null)
        {
            _ = SubscribeAsync(redis.GetSubscriber());
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (redis is null)
        {
            return;
        }

        try
        {
            await redis.GetSubscriber().UnsubscribeAsync(RedisChannelName, OnMessage).WaitAsync(options.OperationTimeout, timeProvider, cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Stopping anyway: the connection closes with the host.
        }
    }

    /// <summary>
    /// Announces a revocation made on this replica to the others. Fails open: when Redis cannot be reached within
    /// the cache's operation timeout it is logged and skipped, and every replica still refuses the consent because
    /// checks read its state from the shared consent store.
    /// </summary>
    /// <returns>How many replicas received it; null when it could not be sent.</returns>
    public async ValueTask<long?> PublishAsync(string consentId, string councilId, CancellationToken cancellationToken)
    {
        if (redis is not { IsConnected: true })
        {
            Log.RevocationNotAnnounced(logger, consentId, "Redis is not connected");
            return null;
        }

        var message = JsonSerializer.SerializeToUtf8Bytes(new RevocationMessage(consentId, councilId, replicaId), CachingJson.Default.RevocationMessage);
        try
        {
            var receivers = await RedisBackOff.Bounded(redis.GetSubscriber().PublishAsync(RedisChannelName, message), options.OperationTimeout, timeProvider, cancellationToken);
            Log.RevocationAnnounced(logger, consentId, receivers);
            return receivers;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.RevocationNotAnnounced(logger, consentId, ex.GetType().Name);
            return null;
        }
    }

    /// <summary>
    /// Registers the handler with the multiplexer and subscribes; never throws. When Redis is down the call fails (and is
    /// logged) but the handler stays registered, and the multiplexer subscribes as soon as it connects.
    /// </summary>
    private async Task SubscribeAsync(ISubscriber subscriber)
    {
        try
        {
            await subscriber.SubscribeAsync(RedisChannelName, OnMessage).ConfigureAwait(false);
            Log.RevocationChannelSubscribed(logger, Channel);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.RevocationChannelUnavailable(logger, "subscribe failed", ex);
        }
    }

    private void OnMessage(RedisChannel channel, RedisValue value)
    {
        RevocationMessage? message;
        try
        {
            message = JsonSerializer.Deserialize((byte[])value!, CachingJson.Default.RevocationMessage);
        }
        catch (JsonException)
        {
            message = null;
        }

        if (message is not { ConsentId.Length: > 0 and <= 64, CouncilId.Length: > 0 and <= 64, ReplicaId.Length: > 0 })
        {
            Log.RevocationMessageIgnored(logger);
            return;
        }

        if (message.ReplicaId == replicaId)
        {
            // Our own announcement: recorded when the revocation was made here.
            return;
        }

        if (revoked.Record(message.ConsentId, message.CouncilId, announcedByAnotherReplica: true))
        {
            Log.RevocationLearnt(logger, message.ConsentId);
        }
    }
}

/// <summary>What a replica announces on <see cref="RedisRevocationChannel.Channel"/>: ids only.</summary>
internal sealed record RevocationMessage(string ConsentId, string CouncilId, string ReplicaId);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(RevocationMessage))]
internal sealed partial class CachingJson : System.Text.Json.Serialization.JsonSerializerContext;
