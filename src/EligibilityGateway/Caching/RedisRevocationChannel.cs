using System.Text.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace EligibilityGateway.Caching;

/// <summary>
/// Tells every replica sharing Redis that a consent was revoked (README.md: within 1 s on every replica), over
/// the pub/sub channel <see cref="Channel"/>. A message carries the consent id, the council id and the sending
/// replica's random id, and nothing else: no subject reference, no cache key, no personal data.
/// <para>
/// Subscribes when the host starts, on a connection of its own (a subscribed Redis connection can do nothing
/// else), without waiting for Redis: a Redis that is down holds up neither start-up nor revocation, which the
/// shared consent store already enforces. StackExchange.Redis reconnects by itself; because 1.2.6 does not always
/// restore a subscription after a reconnect, the subscription is re-asserted whenever a connection is restored and
/// checked every <see cref="WatchInterval"/>.
/// </para>
/// </summary>
internal sealed class RedisRevocationChannel : IHostedService, IAsyncDisposable
{
    /// <summary>The channel name; versioned, so that a change of message format gets a channel of its own.</summary>
    public const string Channel = "egw:consent-revoked:v1";

    private static readonly RedisChannel RedisChannelName = RedisChannel.Literal(Channel);

    /// <summary>How often the subscription is checked, and re-made if Redis dropped it.</summary>
    public static readonly TimeSpan WatchInterval = TimeSpan.FromSeconds(2);

    private readonly CacheOptions options;
    private readonly RevokedConsents revoked;
    private readonly TimeProvider timeProvider;
    private readonly ILogger<RedisRevocationChannel> logger;
    private readonly string replicaId = Guid.NewGuid().ToString("N");
    private readonly SemaphoreSlim subscribing = new(1, 1);
    private readonly CancellationTokenSource stopping = new();
    private Task<ConnectionMultiplexer>? connecting;
    private ITimer? watch;
    private int subscribed;

    public RedisRevocationChannel(IOptions<CacheOptions> options, RevokedConsents revoked, TimeProvider timeProvider, ILogger<RedisRevocationChannel> logger)
    {
        this.options = options.Value;
        this.revoked = revoked;
        this.timeProvider = timeProvider;
        this.logger = logger;
    }

    /// <summary>True when Redis is configured, so that there are replicas to tell.</summary>
    public bool IsEnabled => !string.IsNullOrWhiteSpace(options.Redis);

    /// <summary>True while this replica is subscribed to <see cref="Channel"/>.</summary>
    public bool IsSubscribed => Volatile.Read(ref subscribed) == 1;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!IsEnabled)
        {
            return Task.CompletedTask;
        }

        var configuration = ConfigurationOptions.Parse(options.Redis!);
        var connectMilliseconds = (int)options.ConnectTimeout.TotalMilliseconds;
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = connectMilliseconds;
        configuration.ConnectRetry = 1;
        configuration.SyncTimeout = (int)options.OperationTimeout.TotalMilliseconds;
        configuration.ReconnectRetryPolicy = new LinearRetry(connectMilliseconds);
        configuration.KeepAlive = 5;
        configuration.ClientName = "eligibility-gateway-revocations";
        connecting = ConnectionMultiplexer.ConnectAsync(configuration);
        _ = connecting.ContinueWith(
            t =>
            {
                t.Result.ConnectionRestored += (_, _) => _ = SubscribeAsync(force: true);
                t.Result.ConnectionFailed += (_, e) =>
                {
                    if (e.ConnectionType == ConnectionType.Subscription)
                    {
                        Volatile.Write(ref subscribed, 0);
                    }
                };
                return SubscribeAsync(force: false);
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default).Unwrap();
        _ = connecting.ContinueWith(t => Log.RevocationChannelUnavailable(logger, "connect failed", t.Exception?.GetBaseException()), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        watch = timeProvider.CreateTimer(_ => _ = SubscribeAsync(force: false), null, WatchInterval, WatchInterval);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    /// <summary>
    /// Announces a revocation made on this replica to the others. Fails open: when Redis cannot be reached within
    /// the cache's operation timeout it is logged and skipped, and every replica still refuses the consent because
    /// checks read its state from the shared consent store.
    /// </summary>
    /// <returns>How many replicas received it; null when it could not be sent.</returns>
    public async ValueTask<long?> PublishAsync(string consentId, string councilId, CancellationToken cancellationToken)
    {
        if (connecting is not { IsCompletedSuccessfully: true } task || !task.Result.IsConnected)
        {
            Log.RevocationNotAnnounced(logger, consentId, "Redis is not connected");
            return null;
        }

        var message = JsonSerializer.SerializeToUtf8Bytes(new RevocationMessage(consentId, councilId, replicaId), CachingJson.Default.RevocationMessage);
        try
        {
            var receivers = await task.Result.GetSubscriber().PublishAsync(RedisChannelName, message).WaitAsync(options.OperationTimeout, timeProvider, cancellationToken);
            Log.RevocationAnnounced(logger, consentId, receivers);
            return receivers;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.RevocationNotAnnounced(logger, consentId, ex.GetType().Name);
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (stopping.IsCancellationRequested)
        {
            return;
        }

        await stopping.CancelAsync();
        if (watch is not null)
        {
            await watch.DisposeAsync();
        }

        if (connecting is { } task)
        {
            _ = task.ContinueWith(static t => t.Result.Dispose(), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>Subscribes when not subscribed (or always, with <paramref name="force"/>, after a reconnect); never throws.</summary>
    private async Task SubscribeAsync(bool force)
    {
        if (stopping.IsCancellationRequested || connecting is not { IsCompletedSuccessfully: true } task || (!force && IsSubscribed))
        {
            return;
        }

        if (!await subscribing.WaitAsync(0))
        {
            return;
        }

        try
        {
            var subscriber = task.Result.GetSubscriber();
            if (force || subscriber.SubscribedEndpoint(RedisChannelName) is null)
            {
                // Remove our handler first so that re-subscribing never registers it twice.
                await subscriber.UnsubscribeAsync(RedisChannelName, OnMessage).WaitAsync(options.OperationTimeout, timeProvider, stopping.Token);
                await subscriber.SubscribeAsync(RedisChannelName, OnMessage).WaitAsync(options.OperationTimeout, timeProvider, stopping.Token);
            }

            if (Interlocked.Exchange(ref subscribed, 1) == 0)
            {
                Log.RevocationChannelSubscribed(logger, Channel);
            }
        }
        catch (Exception ex) when (!stopping.IsCancellationRequested)
        {
            Volatile.Write(ref subscribed, 0);
            Log.RevocationChannelUnavailable(logger, "subscribe failed", ex);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        finally
        {
            subscribing.Release();
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
