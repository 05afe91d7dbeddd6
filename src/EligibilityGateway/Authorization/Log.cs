namespace EligibilityGateway.Authorization;

/// <summary>
/// Log messages of the authorization server and token validation; event ids 1200-1299 belong to this feature.
/// No message carries a secret, an assertion or a token: only client ids (public identifiers in the trust
/// framework), token ids and fixed reason phrases.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Issuer derived from bound address {Address}: {Issuer} (wildcard binding {Wildcard}); set Authorization:Issuer when several replicas or a proxy serve the gateway")]
    public static partial void IssuerDerived(ILogger logger, string issuer, string address, bool wildcard);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "Client assertion {TokenId} from {ClientId} presented again; refused as a replay (RFC 7523 section 3)")]
    public static partial void AssertionReplayed(ILogger logger, string clientId, string tokenId);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Error, Message = "The client-assertion replay cache is full ({Capacity} live entries); assertions are refused until entries expire")]
    public static partial void ReplayCacheFull(ILogger logger, int capacity);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Error, Message = "Recording the issuance of access token {TokenId} to {ClientId} failed; the token was not released")]
    public static partial void IssuanceRecordFailed(ILogger logger, string tokenId, string clientId, Exception exception);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Debug, Message = "Bearer token refused: {Reason}")]
    public static partial void BearerTokenRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Information, Message = "Trust framework reloaded; {Count} remembered client-secret verifications forgotten")]
    public static partial void VerifiedSecretsForgotten(ILogger logger, int count);

    [LoggerMessage(EventId = 1210, Level = LogLevel.Information, Message = "Authorization request pushed by {ClientId} for consent {ConsentId}")]
    public static partial void AuthorizationRequestPushed(ILogger logger, string clientId, string consentId);

    [LoggerMessage(EventId = 1213, Level = LogLevel.Warning, Message = "Refresh token of {ClientId} refused: {Description}")]
    public static partial void RefreshTokenRefused(ILogger logger, string clientId, string description);

    [LoggerMessage(EventId = 1214, Level = LogLevel.Warning, Message = "The shared {Store} store in Redis could not be used ({ErrorType}); the request is refused")]
    public static partial void SharedStateUnavailable(ILogger logger, string store, string errorType);

    [LoggerMessage(EventId = 1215, Level = LogLevel.Debug, Message = "Token revocation received from another replica (kind {Kind}: 0 token, 1 consent, F family)")]
    public static partial void AccessTokenRevocationReceived(ILogger logger, string kind);

    // Logged once when Redis goes away, not once per request, so that an outage under a guessing attack cannot flood the log.
    [LoggerMessage(EventId = 1216, Level = LogLevel.Warning, Message = "The {Throttle} failure throttle could not use Redis ({ErrorType}); this replica counts failures on its own, and Redis is tried again every {BackOff}")]
    public static partial void ThrottleUnshared(ILogger logger, string throttle, string errorType, TimeSpan backOff);

    [LoggerMessage(EventId = 1217, Level = LogLevel.Information, Message = "The {Throttle} failure throttle shares its counts through Redis again")]
    public static partial void ThrottleSharedAgain(ILogger logger, string throttle);

    [LoggerMessage(EventId = 1218, Level = LogLevel.Warning, Message = "client_secret_basic refused without checking the secret: too many recent failures for that {Limit}; retry after {RetryAfterSeconds} s")]
    public static partial void ClientAuthenticationThrottled(ILogger logger, string limit, int retryAfterSeconds);

    [LoggerMessage(EventId = 1220, Level = LogLevel.Debug, Message = "Authorization store pruned: {Tokens} tokens and {Authorizations} authorizations no longer usable")]
    public static partial void AuthorizationStorePruned(ILogger logger, long tokens, long authorizations);

    [LoggerMessage(EventId = 1221, Level = LogLevel.Warning, Message = "Pruning the authorization store failed; it is tried again at the next interval")]
    public static partial void AuthorizationStorePruneFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1222, Level = LogLevel.Information, Message = "Token request refused: {Error} at {Endpoint} for client {ClientId}: {Description}")]
    public static partial void ServerRequestRefused(ILogger logger, string error, string endpoint, string clientId, string description);
}
