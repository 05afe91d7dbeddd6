namespace EligibilityGateway.Pages;

/// <summary>
/// Log messages of the pages; event ids 2000-2099 belong to this feature. No message carries a username: a citizen's
/// username is their surname. Only roles and fixed reasons are logged.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Page sign-in succeeded for a person with role {Role}")]
    public static partial void SignedIn(ILogger logger, string role);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Page sign-in refused: the username and password did not match")]
    public static partial void SignInRefused(ILogger logger);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Page sign-in refused: too many recent failures for that {Limit}")]
    public static partial void SignInThrottled(ILogger logger, string limit);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Page sign-out by a person with role {Role}")]
    public static partial void SignedOut(ILogger logger, string role);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "End-session request without a valid id_token_hint for the signed-in person ({Reason}); the person is asked whether to sign out")]
    public static partial void EndSessionConfirmationAsked(ILogger logger, string reason);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Page sign-out of a citizen at the request of council {ClientId}, with an id_token_hint for them (OpenID Connect RP-Initiated Logout)")]
    public static partial void SignedOutByCouncil(ILogger logger, string clientId);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Debug, Message = "Federated sign-in started: the citizen is sent to the identity provider")]
    public static partial void FederatedSignInStarted(ILogger logger);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Warning, Message = "Federated sign-in refused ({Failure}): {Reason}")]
    public static partial void FederatedSignInRefused(ILogger logger, FederatedSignInFailure failure, string reason);

    [LoggerMessage(EventId = 2022, Level = LogLevel.Warning, Message = "The identity provider's {Step} could not be read ({ErrorType})")]
    public static partial void IdentityProviderUnreachable(ILogger logger, string step, string errorType);

    [LoggerMessage(EventId = 2023, Level = LogLevel.Error, Message = "The identity provider's metadata was refused: {Reason}")]
    public static partial void IdentityProviderMetadataRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 2024, Level = LogLevel.Warning, Message = "A federated sign-in could not be shared with the other replicas through Redis ({ErrorType})")]
    public static partial void FederatedCitizensUnshared(ILogger logger, string errorType);

    [LoggerMessage(EventId = 2080, Level = LogLevel.Information, Message = "A {Method} to the page {Page} named no handler the page has; answered 400")]
    public static partial void PageHandlerNotFound(ILogger logger, string method, string page);

    [LoggerMessage(EventId = 2081, Level = LogLevel.Information, Message = "A {Method} to the page {Page}, which takes no request with that method; answered 405")]
    public static partial void PageMethodNotAllowed(ILogger logger, string method, string page);

    [LoggerMessage(EventId = 2090, Level = LogLevel.Error, Message = "A page failed with {ExceptionType}")]
    public static partial void PageFailed(ILogger logger, string exceptionType, Exception exception);
}
