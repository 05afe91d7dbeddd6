using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;

namespace MockCentralGovernment.Providers;

/// <summary>A validated, normalised lookup: the identifier, surname and date of birth every provider matches on.</summary>
internal readonly record struct PersonQuery(string Identifier, string LastName, DateOnly DateOfBirth);

internal enum IdentifierKind
{
    NationalInsuranceNumber,
    NationalAsylumSeekerServiceNumber,
}

/// <summary>Validation and normalisation of the identifiers, applied the same way by every provider.</summary>
internal static partial class Identifiers
{
    private static readonly DateOnly EarliestDateOfBirth = new(1900, 1, 1);

    /// <summary>Trimmed, spaces removed, upper-cased.</summary>
    public static string NormaliseNationalInsuranceNumber(string raw) =>
        raw.Trim().Replace(" ", "", StringComparison.Ordinal).ToUpperInvariant();

    /// <summary>
    /// Two prefix letters (first not D F I Q U V; second not D F I O Q U V; prefix not BG GB NK KN TN NT ZZ),
    /// six digits, suffix A–D. <paramref name="normalised"/> must already be normalised.
    /// </summary>
    public static bool IsValidNationalInsuranceNumber(string normalised)
    {
        if (!NationalInsuranceNumberShape().IsMatch(normalised))
        {
            return false;
        }

        var prefix = normalised.AsSpan(0, 2);
        return prefix is not ("BG" or "GB" or "NK" or "KN" or "TN" or "NT" or "ZZ");
    }

    public static bool IsValidNassNumber(string normalised) => NassNumberShape().IsMatch(normalised);

    /// <summary>
    /// Turns the three raw fields into a <see cref="PersonQuery"/>, or names every field that is wrong
    /// (RFC 9457 validation problem with an <c>errors</c> member).
    /// </summary>
    public static bool TryCreateQuery(
        IdentifierKind kind,
        string? identifier,
        string? lastName,
        string? dateOfBirth,
        out PersonQuery query,
        [NotNullWhen(false)] out Dictionary<string, string[]>? errors)
    {
        errors = null;
        var identifierField = kind == IdentifierKind.NationalInsuranceNumber ? "nationalInsuranceNumber" : "nationalAsylumSeekerServiceNumber";
        string normalisedIdentifier = "";
        if (string.IsNullOrWhiteSpace(identifier))
        {
            Add(ref errors, identifierField, "is required.");
        }
        else if (kind == IdentifierKind.NationalInsuranceNumber)
        {
            normalisedIdentifier = NormaliseNationalInsuranceNumber(identifier);
            if (!IsValidNationalInsuranceNumber(normalisedIdentifier))
            {
                Add(ref errors, identifierField, "is not a valid National Insurance number (two prefix letters, six digits, a suffix A–D).");
            }
        }
        else
        {
            normalisedIdentifier = identifier.Trim();
            if (!IsValidNassNumber(normalisedIdentifier))
            {
                Add(ref errors, identifierField, "is not a valid NASS number (yyMM followed by five or six digits).");
            }
        }

        var trimmedLastName = lastName?.Trim() ?? "";
        if (trimmedLastName.Length == 0)
        {
            Add(ref errors, "lastName", "is required.");
        }
        else if (trimmedLastName.Length > 100 || !LastNameShape().IsMatch(trimmedLastName))
        {
            Add(ref errors, "lastName", "must be 1–100 letters, spaces, hyphens or apostrophes.");
        }

        var date = default(DateOnly);
        if (string.IsNullOrEmpty(dateOfBirth))
        {
            Add(ref errors, "dateOfBirth", "is required.");
        }
        else if (!DateOnly.TryParseExact(dateOfBirth, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date) || date < EarliestDateOfBirth)
        {
            Add(ref errors, "dateOfBirth", "must be a real date written yyyy-MM-dd, not before 1900-01-01.");
        }

        query = new PersonQuery(normalisedIdentifier, trimmedLastName, date);
        return errors is null;
    }

    private static void Add(ref Dictionary<string, string[]>? errors, string field, string message)
    {
        errors ??= new Dictionary<string, string[]>(StringComparer.Ordinal);
        errors[field] = [message];
    }

    [GeneratedRegex("^[ABCEGHJ-PRSTW-Z][ABCEGHJ-NPRSTW-Z][0-9]{6}[A-D]$", RegexOptions.CultureInvariant)]
    private static partial Regex NationalInsuranceNumberShape();

    [GeneratedRegex("^[0-9]{2}(0[1-9]|1[0-2])[0-9]{5,6}$", RegexOptions.CultureInvariant)]
    private static partial Regex NassNumberShape();

    // Letters of any script (with combining marks), spaces, hyphens and straight or typographic apostrophes;
    // at least one letter.
    [GeneratedRegex(@"^(?=.*\p{L})[\p{L}\p{M} '’\-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex LastNameShape();
}
