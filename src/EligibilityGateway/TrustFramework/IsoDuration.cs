using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;

namespace EligibilityGateway.TrustFramework;

/// <summary>
/// ISO 8601 durations as the trust framework writes them: weeks (<c>P2W</c>), or days and time
/// (<c>P90D</c>, <c>PT24H</c>, <c>P1DT12H</c>, <c>PT0.5S</c>). Years and months are refused because their length
/// depends on the calendar date, and a TTL or retention period must mean the same thing every day.
/// </summary>
internal static partial class IsoDuration
{
    /// <summary>The pattern, shared with <c>contracts/trust-framework.schema.json</c>.</summary>
    public const string Pattern = @"^P(?:[0-9]+W|(?=[0-9]|T[0-9])(?:[0-9]+D)?(?:T(?=[0-9])(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]+)?S)?)?)$";

    public static bool TryParse(string text, [NotNullWhen(true)] out TimeSpan? duration)
    {
        duration = null;
        var match = DurationRegex().Match(text);
        if (!match.Success)
        {
            return false;
        }

        try
        {
            var total = TimeSpan.FromDays(7 * Number(match.Groups["w"]))
                + TimeSpan.FromDays(Number(match.Groups["d"]))
                + TimeSpan.FromHours(Number(match.Groups["h"]))
                + TimeSpan.FromMinutes(Number(match.Groups["m"]))
                + TimeSpan.FromSeconds(Number(match.Groups["s"]));
            duration = total;
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    private static double Number(Group group) =>
        group.Success ? double.Parse(group.Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture) : 0;

    // Same language as Pattern, with named groups; the lookaheads refuse "P" and "PT" with no number.
    [GeneratedRegex(@"^P(?:(?<w>[0-9]+)W|(?=[0-9]|T[0-9])(?:(?<d>[0-9]+)D)?(?:T(?=[0-9])(?:(?<h>[0-9]+)H)?(?:(?<m>[0-9]+)M)?(?:(?<s>[0-9]+(?:\.[0-9]+)?)S)?)?)$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationRegex();
}
