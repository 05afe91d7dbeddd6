using System.Text;
using System.Text.Json;

namespace EligibilityGateway.Audit;

/// <summary>
/// Writes records as stored, one at a time, so that a log of any size exports in flat memory (README.md). Every column
/// is exported, hash included, because the log holds no personal data (a person is only a keyed subject reference);
/// an export therefore carries everything a verifier recomputes.
/// </summary>
internal static class AuditExport
{
    /// <summary>The export formats.</summary>
    public static readonly IReadOnlyList<string> Formats = ["csv", "jsonl"];

    /// <summary>
    /// RFC 4180 CSV: a header row of column names, CRLF line ends, each field spelt by <see cref="CsvField"/> (quoted
    /// when it holds a comma, a quote, CR or LF; NULL empty and the empty string <c>""</c>; a value a spreadsheet would
    /// run as a formula neutralised with a leading <c>'</c>). Every CSV the gateway writes comes from here.
    /// </summary>
    public static async Task<long> WriteCsvAsync(IAsyncEnumerable<AuditChainRow> rows, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(output);
        await output.WriteAsync(string.Join(',', AuditChain.AllColumns) + "\r\n").ConfigureAwait(false);
        var line = new StringBuilder(1024);
        long count = 0;
        await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            line.Clear();
            for (var i = 0; i < row.Values.Length; i++)
            {
                CsvField.Append(line, row.Values[i]);
                line.Append(',');
            }

            CsvField.Append(line, row.Hash);
            line.Append("\r\n");
            await output.WriteAsync(line, cancellationToken).ConfigureAwait(false);
            count++;
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return count;
    }

    /// <summary>
    /// JSON Lines: one object per record, members named and ordered as the columns, integer columns as numbers, text
    /// as strings exactly as stored (so <c>provider_calls</c> and <c>released</c> stay the JSON text that was hashed), NULL as null.
    /// </summary>
    public static async Task<long> WriteJsonLinesAsync(IAsyncEnumerable<AuditChainRow> rows, Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(output);
        long count = 0;
        await using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        await foreach (var row in rows.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            json.WriteStartObject();
            for (var i = 0; i < row.Values.Length; i++)
            {
                var name = AuditChain.CanonicalColumns[i];
                var value = row.Values[i];
                if (value is null)
                {
                    json.WriteNull(name);
                }
                else if (IsIntegerColumn(i) && long.TryParse(value, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var number))
                {
                    json.WriteNumber(name, number);
                }
                else
                {
                    json.WriteString(name, value);
                }
            }

            if (row.Hash is null)
            {
                json.WriteNull("hash");
            }
            else
            {
                json.WriteString("hash", row.Hash);
            }

            json.WriteEndObject();
            await json.FlushAsync(cancellationToken).ConfigureAwait(false);
            json.Reset();
            output.WriteByte((byte)'\n');
            count++;
        }

        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return count;
    }

    /// <summary><c>sequence</c>, <c>format_version</c> and <c>chain_version</c> are the integer columns.</summary>
    public static bool IsIntegerColumn(int index) =>
        index is AuditChain.SequenceIndex or AuditChain.FormatVersionIndex or AuditChain.ChainVersionIndex;
}
