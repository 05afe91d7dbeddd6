using StackExchange.Redis;

namespace EligibilityGateway.Authorization;

/// <summary>
/// Tells every replica sharing Redis that an access token was revoked (RFC 7009, a replayed code's family, a revoked
/// consent), over the pub/sub channel <see cref="Channel"/>, so that the Bearer scheme and introspection of every
/// replica refuse it within moments, not only the replica that revoked it; and that a replayed code revoked a token
/// family, which the replica that issued it then revokes with its refresh tokens (RFC 6749 §4.1.2). A message is
/// <c>{replica id} {0|1|F} {id}</c> — the sending replica; an access token revoked itself (0) or through its consent
/// (1) and its <c>jti</c>, or a family (F) and its id; random ids, nothing personal. A replica that is not subscribed
/// when a message is sent (down, or reconnecting) misses it; an access token then lapses at its expiry, at most
/// 10 minutes later (README.md, "Configuration").
/// </summary>
internal sealed class AccessTokenRevocationChannel(SharedAuthorizationState state, RevokedAccessTokens revoked, ConsentTokenRegistry families, ILogger<AccessTokenRevocationChannel> logger) : IHostedService
{
    /// <summary>The channel name; versioned with the message format.</summary>
    public const string Channel = "egw:access-token-revoked:v1";

    private readonly string replicaId = Guid.NewGuid().ToString("N");

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!state.IsEnabled)
        {
            return Task.CompletedTask;
        }

        revoked.Revoked = (tokenId, consentOnly) => Publish(consentOnly ? "1" : "0", tokenId);
        families.FamilyRevoked = familyId => Publish("F", familyId);
        // Connecting and subscribing happen in the background: a Redis that is down does not hold up start-up.
        _ = Task.Run(Subscribe, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        revoked.Revoked = null;
        families.FamilyRevoked = null;
        return Task.CompletedTask;
    }

    private void Subscribe()
    {
        try
        {
            var multiplexer = state.Multiplexer;
            // StackExchange.Redis 1.2.6 does not always restore a subscription after a reconnect, so it is made again.
            multiplexer.ConnectionRestored += (_, e) =>
            {
                if (e.ConnectionType == ConnectionType.Subscription)
                {
                    SubscribeOnce(multiplexer);
                }
            };
            SubscribeOnce(multiplexer);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.SharedStateUnavailable(logger, "access-token revocation channel", ex.GetType().Name);
        }
    }

    private void SubscribeOnce(ConnectionMultiplexer multiplexer)
    {
        try
        {
            var subscriber = multiplexer.GetSubscriber();
            subscriber.Unsubscribe(Channel);
            subscriber.Subscribe(Channel, (_, message) => Receive(message));
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.SharedStateUnavailable(logger, "access-token revocation channel", ex.GetType().Name);
        }
    }

    private void Publish(string kind, string id)
    {
        try
        {
            state.Multiplexer.GetSubscriber().Publish(Channel, $"{replicaId} {kind} {id}", CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.SharedStateUnavailable(logger, "access-token revocation channel", ex.GetType().Name);
        }
    }

    private void Receive(RedisValue message)
    {
        var parts = ((string?)message ?? "").Split(' ');
        if (parts.Length != 3 || parts[0] == replicaId || parts[1] is not ("0" or "1" or "F") || parts[2].Length is 0 or > 256)
        {
            return;
        }

        if (parts[1] == "F")
        {
            // Revokes its access tokens through RevokedAccessTokens, which tells the other replicas in turn.
            families.ApplyFamilyRevocation(parts[2]);
        }
        else
        {
            revoked.Apply(parts[2], consentOnly: parts[1] == "1");
        }

        Log.AccessTokenRevocationReceived(logger, parts[1]);
    }
}
