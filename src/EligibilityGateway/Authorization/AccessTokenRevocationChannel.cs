using StackExchange.Redis;

namespace EligibilityGateway.Authorization;

/// <summary>
/// Tells every replica sharing Redis that a client-credentials access token was revoked (RFC 7009), over the pub/sub
/// channel <see cref="Channel"/>, so that the Bearer scheme and introspection of every replica refuse it within moments.
/// Consent-bound tokens need no message: their rows in the shared token store say they are revoked. A message is
/// <c>{replica id} 0 {jti}</c>; random ids, nothing personal. A replica that is not subscribed when a message is sent
/// (Redis down, restarting) misses it; the token then lives at most its remaining lifetime (at most 10 minutes) there.
/// </summary>
/// <remarks>
/// On the gateway's one Redis connection. The multiplexer keeps the subscription through disconnects and makes it again
/// on every reconnect, including one made while Redis was down at start, so it is subscribed to once.
/// </remarks>
internal sealed class AccessTokenRevocationChannel(SharedAuthorizationState state, RevokedAccessTokens revoked, ILogger<AccessTokenRevocationChannel> logger) : IHostedService
{
    /// <summary>The channel name; versioned with the message format.</summary>
    public const string Channel = "egw:access-token-revoked:v1";

    private static readonly RedisChannel RedisChannelName = RedisChannel.Literal(Channel);

    private readonly string replicaId = Guid.NewGuid().ToString("N");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!state.IsEnabled)
        {
            return Task.CompletedTask;
        }

        revoked.Revoked = tokenId => Publish("0", tokenId);
        // Not awaited: a Redis that is down does not hold up start-up.
        _ = SubscribeAsync(state.Multiplexer.GetSubscriber());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        revoked.Revoked = null;
        return Task.CompletedTask;
    }

    private async Task SubscribeAsync(ISubscriber subscriber)
    {
        try
        {
            await subscriber.SubscribeAsync(RedisChannelName, (_, message) => Receive(message)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The handler stays registered; the multiplexer subscribes when it connects.
            Log.SharedStateUnavailable(logger, "access-token revocation channel", ex.GetType().Name);
        }
    }

    private void Publish(string kind, string id)
    {
        try
        {
            state.Multiplexer.GetSubscriber().Publish(RedisChannelName, $"{replicaId} {kind} {id}", CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.SharedStateUnavailable(logger, "access-token revocation channel", ex.GetType().Name);
        }
    }

    private void Receive(RedisValue message)
    {
        var parts = ((string?)message ?? "").Split(' ');
        if (parts.Length != 3 || parts[0] == replicaId || parts[1] != "0" || parts[2].Length is 0 or > 256)
        {
            return;
        }

        revoked.Apply(parts[2]);

        Log.AccessTokenRevocationReceived(logger, parts[1]);
    }
}
