using Microsoft.Extensions.Logging;

namespace EligibilityGateway.TrustFramework;

/// <summary>
/// Log messages of the trust framework feature; event ids 1100-1199 belong to it. A framework file holds no
/// personal data, and no message here prints a secret hash.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Trust framework {FrameworkId} version {FrameworkVersion} loaded from {Source} (sha256 {Sha256}, sandbox {Sandbox})")]
    public static partial void Loaded(ILogger logger, string frameworkId, string frameworkVersion, string source, string sha256, bool sandbox);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Trust framework reloaded from {Source}: {PreviousId} version {PreviousVersion} replaced by {FrameworkId} version {FrameworkVersion} (sha256 {Sha256})")]
    public static partial void Reloaded(ILogger logger, string source, string previousId, string previousVersion, string frameworkId, string frameworkVersion, string sha256);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Trust framework {Source} changed but is invalid ({ErrorCount} errors); {FrameworkId} version {FrameworkVersion} stays in force:\n{Errors}")]
    public static partial void ReloadRefused(ILogger logger, string source, int errorCount, string frameworkId, string frameworkVersion, string errors);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Critical, Message = "Trust framework {Source} is invalid ({ErrorCount} errors); the gateway cannot start:\n{Errors}")]
    public static partial void StartupRefused(ILogger logger, string source, int errorCount, string errors);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error, Message = "Checking trust framework {Source} for changes failed")]
    public static partial void PollFailed(ILogger logger, string source, Exception exception);
}
