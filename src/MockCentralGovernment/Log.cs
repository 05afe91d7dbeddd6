using Microsoft.Extensions.Logging;

namespace MockCentralGovernment;

/// <summary>
/// Every log line of the mock, with its event id. None carries an identifier, name or date of birth;
/// per-request lines are Debug so a benchmark run logs nothing.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Synthetic population built: {People} people ({Dwp} DWP, {Hmrc} HMRC, {HomeOffice} Home Office records) from seed {Seed} in {ElapsedMilliseconds} ms")]
    public static partial void PopulationBuilt(ILogger logger, int people, int dwp, int hmrc, int homeOffice, long seed, long elapsedMilliseconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Fault settings of {Provider} changed: latency {LatencyMilliseconds} ms, jitter {JitterMilliseconds} ms, error rate {ErrorRate}, timeout rate {TimeoutRate}, hold {TimeoutHoldMilliseconds} ms, outage {Outage}")]
    public static partial void FaultSettingsChanged(ILogger logger, string provider, int latencyMilliseconds, int jitterMilliseconds, double errorRate, double timeoutRate, int timeoutHoldMilliseconds, bool outage);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Refused a call to {Realm}: {Reason}")]
    private static partial void CredentialRejectedCore(ILogger logger, string realm, string reason);

    public static void CredentialRejected(ILogger logger, string realm, bool presented) =>
        CredentialRejectedCore(logger, realm, presented ? "wrong credential" : "no credential");

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Injected {Fault} into a call to {Provider}")]
    public static partial void FaultInjected(ILogger logger, string provider, string fault);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Refused a call to {Provider}: caller headers missing or not valid ({Headers})")]
    public static partial void CallerHeadersRejected(ILogger logger, string provider, string headers);
}
