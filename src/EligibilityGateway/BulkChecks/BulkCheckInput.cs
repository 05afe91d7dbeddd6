using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using EligibilityGateway.Checks;
using nietras.SeparatedValues;

namespace EligibilityGateway.BulkChecks;

/// <summary>One row of a bulk check as sent in JSON: a single check's <c>caseReference</c> and <c>subject</c>.</summary>
internal sealed record BulkRowBody(string? CaseReference, SubjectBody? Subject);

[JsonSerializable(typeof(List<BulkRowBody>))]
internal sealed partial class BulkInputJsonContext : JsonSerializerContext;

/// <summary>A row that broke a rule: its 1-based number (the header of a CSV file is not counted), the field and why.</summary>
internal sealed record BulkRowError(int Row, string Field, string Message);

/// <summary>A row that passed every rule of a single check.</summary>
internal sealed record BulkValidRow(int Row, string CaseReference, Subject Subject);

/// <summary>What an upload came to: its valid rows, every error of every bad row, or why the upload as a whole is unreadable.</summary>
internal sealed record BulkInput(int RowCount, IReadOnlyList<BulkValidRow> Valid, IReadOnlyList<BulkRowError> Errors, int InvalidRows)
{
    public static BulkInput Unreadable(string field, string message) =>
        new(0, [], [new BulkRowError(0, field, message)], 0) { WholeUploadError = true };

    public static BulkInput TooManyRows() => new(BulkCheckLimits.MaxRows + 1, [], [], 0) { OverRowLimit = true };

    /// <summary>The upload as a whole could not be read (not JSON or CSV, a bad header); <see cref="Errors"/> says why.</summary>
    public bool WholeUploadError { get; private init; }

    /// <summary>More than <see cref="BulkCheckLimits.MaxRows"/> rows.</summary>
    public bool OverRowLimit { get; private init; }
}

/// <summary>The limits of one upload (README.md, "Submitting").</summary>
internal static class BulkCheckLimits
{
    public const int MaxRows = 10_000;

    public const long MaxBodyBytes = 5 * 1024 * 1024;
}

/// <summary>
/// Reads an upload — a JSON array of <c>{caseReference, subject}</c> or CSV with a header row — and validates every
/// row with the single check's own rules (<see cref="CheckRequestValidator"/>), collecting every error of every row.
/// </summary>
internal static class BulkCheckInput
{
    /// <summary>CSV columns, named as the JSON members they stand for; the identifier columns may be left out (one is needed per row).</summary>
    public static readonly string[] CsvColumns = ["caseReference", "nationalInsuranceNumber", "nationalAsylumSeekerServiceNumber", "lastName", "dateOfBirth"];

    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        MaxDepth = 8,
        TypeInfoResolver = System.Text.Json.Serialization.Metadata.JsonTypeInfoResolver.Combine(BulkInputJsonContext.Default, CheckRequestJsonContext.Default),
    };

    public static BulkInput ReadJson(ReadOnlySpan<byte> body, DateOnly today)
    {
        List<BulkRowBody>? rows;
        try
        {
            rows = JsonSerializer.Deserialize(body, (System.Text.Json.Serialization.Metadata.JsonTypeInfo<List<BulkRowBody>>)JsonOptions.GetTypeInfo(typeof(List<BulkRowBody>)));
        }
        catch (JsonException ex)
        {
            return BulkInput.Unreadable(JsonField(ex), ex.Message.Contains("could not be mapped", StringComparison.Ordinal)
                ? "This member is not part of a bulk check row."
                : "The body must be a JSON array of {caseReference, subject} objects.");
        }

        if (rows is null)
        {
            return BulkInput.Unreadable("body", "The body must be a JSON array of {caseReference, subject} objects.");
        }

        if (rows.Count > BulkCheckLimits.MaxRows)
        {
            return BulkInput.TooManyRows();
        }

        return Validate(rows.Select((row, index) => (index + 1, row.CaseReference, row.Subject, "subject.")), rows.Count, today);
    }

    public static BulkInput ReadCsv(ReadOnlySpan<byte> body, DateOnly today)
    {
        var text = Encoding.UTF8.GetString(body.StartsWith("\uFEFF"u8) ? body[3..] : body);
        var rows = new List<(int Row, string? CaseReference, SubjectBody Subject, string Prefix)>();
        try
        {
            using var reader = Sep.New(',').Reader(o => o with { Unescape = true, DisableColCountCheck = false }).FromText(text);
            var header = reader.Header.ColNames;
            if (header.Count == 0 || (header.Count == 1 && header[0].Length == 0))
            {
                return BulkInput.Unreadable("header", $"The first line must name the columns: {string.Join(",", CsvColumns)}.");
            }

            for (var i = 0; i < header.Count; i++)
            {
                // The name is not quoted back: a file without its header row would have a person's data here.
                if (!CsvColumns.Contains(header[i], StringComparer.Ordinal))
                {
                    return BulkInput.Unreadable("header", $"Column {i + 1} of the first line is not a known column; the first line must name the columns: {string.Join(",", CsvColumns)}.");
                }
            }

            if (header.Distinct(StringComparer.Ordinal).Count() != header.Count)
            {
                return BulkInput.Unreadable("header", "A column is named twice.");
            }

            foreach (var required in new[] { "caseReference", "lastName", "dateOfBirth" })
            {
                if (!header.Contains(required))
                {
                    return BulkInput.Unreadable("header", $"The column '{required}' is missing.");
                }
            }

            if (!header.Contains("nationalInsuranceNumber") && !header.Contains("nationalAsylumSeekerServiceNumber"))
            {
                return BulkInput.Unreadable("header", "A column 'nationalInsuranceNumber' or 'nationalAsylumSeekerServiceNumber' is needed.");
            }

            string? Column(SepReader.Row row, string name) =>
                header.Contains(name) && row[name].Span is { Length: > 0 } value ? value.ToString() : null;

            foreach (var row in reader)
            {
                if (rows.Count == BulkCheckLimits.MaxRows)
                {
                    return BulkInput.TooManyRows();
                }

                var subject = new SubjectBody(
                    Column(row, "nationalInsuranceNumber"), Column(row, "nationalAsylumSeekerServiceNumber"), Column(row, "lastName"), Column(row, "dateOfBirth"));
                rows.Add((rows.Count + 1, Column(row, "caseReference"), subject, ""));
            }
        }
        catch (InvalidDataException ex)
        {
            // Sep names the line; its message holds no field content beyond counts.
            return BulkInput.Unreadable("body", $"Not well-formed CSV: {(ex.Message.Contains("column count", StringComparison.OrdinalIgnoreCase) ? "a row has a different number of columns than the header." : "a quoted field is not closed.")}");
        }

        return Validate(rows.Select(r => (r.Row, r.CaseReference, (SubjectBody?)r.Subject, r.Prefix)), rows.Count, today);
    }

    private static BulkInput Validate(IEnumerable<(int Row, string? CaseReference, SubjectBody? Subject, string SubjectPrefix)> rows, int count, DateOnly today)
    {
        var valid = new List<BulkValidRow>(count);
        var errors = new List<BulkRowError>();
        var invalidRows = 0;
        foreach (var (row, caseReference, subjectBody, prefix) in rows)
        {
            var rowErrors = new ValidationErrors();
            CheckRequestValidator.ValidateCaseReference(caseReference, rowErrors);
            var subject = CheckRequestValidator.ValidateSubject(subjectBody, today, rowErrors);
            if (rowErrors.Count == 0 && subject is not null)
            {
                valid.Add(new BulkValidRow(row, caseReference!, subject));
                continue;
            }

            invalidRows++;
            foreach (var (field, messages) in rowErrors.ToDictionary())
            {
                // The single check names subject members "subject.x"; a CSV column is just "x".
                var name = field.StartsWith("subject.", StringComparison.Ordinal) ? prefix + field["subject.".Length..] : field;
                foreach (var message in messages)
                {
                    errors.Add(new BulkRowError(row, name, message));
                }
            }
        }

        return new BulkInput(count, valid, errors, invalidRows);
    }

    private static string JsonField(JsonException exception)
    {
        var path = exception.Path;
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        // $[3].subject.lastName → rows[4].subject.lastName (rows are numbered from 1).
        var match = System.Text.RegularExpressions.Regex.Match(path, @"^\$\[(\d+)\]\.?(.*)$");
        return match.Success
            ? $"rows[{int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1}]" + (match.Groups[2].Value.Length > 0 ? "." + match.Groups[2].Value : "")
            : "body";
    }
}
