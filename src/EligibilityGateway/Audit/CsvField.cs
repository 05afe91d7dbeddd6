using System.Text;

namespace EligibilityGateway.Audit;

/// <summary>
/// How every CSV the gateway writes spells one field (the auditor API's export, the auditor page's download and
/// <c>egw audit export</c> all go through <see cref="AuditExport.WriteCsvAsync"/>, which writes each field here):
/// RFC 4180 quoting, and no cell a spreadsheet would run as a formula.
/// </summary>
/// <remarks>
/// A council chooses some of the exported text (a check's <c>caseReference</c>, for one), and a spreadsheet opening
/// the file runs a cell that begins with <c>=</c>, <c>+</c>, <c>-</c> or <c>@</c> (or a tab or carriage return before
/// one) as a formula: <c>=HYPERLINK(…)</c> can send data away, <c>=cmd|…</c> can start a program. As OWASP's "CSV
/// Injection" guidance says, such a cell is written with a single quote <c>'</c> before it and quoted, so that it is
/// read as text. A value that itself begins with <c>'</c> gets one more, so that the file stays lossless: a reader
/// recovers the stored value by removing one leading <c>'</c> from any field that begins with one (README.md,
/// "Export"). JSON lines need none of this and carry every value exactly as stored.
/// </remarks>
internal static class CsvField
{
    /// <summary>The quote put before a neutralised value.</summary>
    public const char Neutraliser = '\'';

    /// <summary>
    /// Whether <paramref name="value"/> is written with <see cref="Neutraliser"/> before it: it begins with a character
    /// a spreadsheet takes as the start of a formula (<c>=</c> <c>+</c> <c>-</c> <c>@</c> tab CR), or with the quote itself.
    /// </summary>
    public static bool NeedsNeutralising(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' or Neutraliser;
    }

    /// <summary>
    /// Appends <paramref name="value"/> as one field. NULL is an empty field and the empty string is <c>""</c>, so
    /// that the two stay apart; a field holding a comma, a quote, CR or LF is quoted with its quotes doubled; a field
    /// <see cref="NeedsNeutralising"/> is quoted with <see cref="Neutraliser"/> before its value.
    /// </summary>
    public static void Append(StringBuilder line, string? value)
    {
        ArgumentNullException.ThrowIfNull(line);
        if (value is null)
        {
            return;
        }

        var neutralise = NeedsNeutralising(value);
        if (!neutralise && value.Length > 0 && value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            line.Append(value);
            return;
        }

        line.Append('"');
        if (neutralise)
        {
            line.Append(Neutraliser);
        }

        line.Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }
}
