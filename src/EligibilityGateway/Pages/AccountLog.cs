namespace EligibilityGateway.Pages;

/// <summary>The account's log messages (event ids 2010-2019 of the pages' range): consent ids only, never who the citizen is.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "A citizen withdrew consent {ConsentId} from their account")]
    public static partial void CitizenRevoked(ILogger logger, string consentId);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "A citizen downloaded the receipt of consent {ConsentId}")]
    public static partial void ReceiptIssued(ILogger logger, string consentId);
}
