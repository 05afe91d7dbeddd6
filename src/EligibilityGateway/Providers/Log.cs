using Microsoft.Extensions.Logging;

namespace EligibilityGateway.Providers;

/// <summary>
/// Log messages of the provider feature; event ids 1300-1399 belong to it. A message names the provider and the
/// question by their trust-framework ids and never carries a request URL (the DWP claims URL holds a citizen id),
/// a credential, an identifier, a name or a date of birth. Exceptions are described by their type only, because
/// their messages may quote a URL.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Debug, Message = "Provider {ProviderId} attempt {Attempt} ended with {Result}; retrying in {DelayMilliseconds} ms")]
    public static partial void Retrying(ILogger logger, string providerId, int attempt, string result, double delayMilliseconds);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Circuit for provider {ProviderId} opened after {Result}; calls fail fast for {BreakMilliseconds} ms")]
    public static partial void CircuitOpened(ILogger logger, string providerId, string result, double breakMilliseconds);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Information, Message = "Circuit for provider {ProviderId} half-open: letting a trial call through")]
    public static partial void CircuitHalfOpened(ILogger logger, string providerId);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Information, Message = "Circuit for provider {ProviderId} closed")]
    public static partial void CircuitClosed(ILogger logger, string providerId);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Information, Message = "Resilience pipeline for provider {ProviderId} built: attempt timeout {AttemptTimeout}, total timeout {TotalTimeout}, max concurrency {MaxConcurrency}")]
    public static partial void PipelineBuilt(ILogger logger, string providerId, TimeSpan attemptTimeout, TimeSpan totalTimeout, int maxConcurrency);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "Provider {ProviderId} could not answer question {QuestionId}: {Reason}")]
    public static partial void CallFailed(ILogger logger, string providerId, string questionId, string reason);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Error, Message = "The trust framework now in force does not fit the provider configuration; the affected questions fail until it is fixed:\n{Problems}")]
    public static partial void FrameworkMismatch(ILogger logger, string problems);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Error, Message = "Provider {ProviderId} question {QuestionId} failed unexpectedly ({ExceptionType})")]
    public static partial void UnexpectedFailure(ILogger logger, string providerId, string questionId, string exceptionType);

    [LoggerMessage(EventId = 1308, Level = LogLevel.Information, Message = "Resilience pipeline for provider {ProviderId} removed: the trust framework no longer names it")]
    public static partial void PipelineRemoved(ILogger logger, string providerId);
}
