using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace EligibilityGateway.Checks;

/// <summary>The body of <c>POST /v1/checks</c> as sent (README.md); every member is checked before use.</summary>
internal sealed record CheckRequestBody(string? Scheme, string? LawfulBasis, string? CaseReference, SubjectBody? Subject);

/// <summary>The <c>subject</c> member as sent. Personal data: never logged.</summary>
internal sealed record SubjectBody(string? NationalInsuranceNumber, string? NationalAsylumSeekerServiceNumber, string? LastName, string? DateOfBirth)
{
    public override string ToString() => "SubjectBody { redacted }";
}

/// <summary>A request that passed every validation rule: the scheme exists, the subject is normalised.</summary>
internal sealed record ValidCheckRequest(string SchemeId, string LawfulBasis, string CaseReference, Subject Subject);

/// <summary>
/// A request made with a consent-bound token that passed every validation rule: the scheme exists, there is no
/// subject (it comes from the consent) and the lawful basis is <c>consent</c>.
/// </summary>
internal sealed record ValidConsentCheckRequest(string SchemeId, string CaseReference);

[JsonSerializable(typeof(CheckRequestBody))]
internal sealed partial class CheckRequestJsonContext : JsonSerializerContext;

/// <summary>
/// Reads and validates check requests. Strict on purpose: unknown members, duplicate members and wrong
/// types are refused rather than guessed at, because a council's integration bug must surface as a 400 it
/// can read, not as a check about the wrong person.
/// </summary>
internal static partial class CheckRequestValidator
{
    /// <summary>Oldest date of birth accepted (README.md, "Validation").</summary>
    public static readonly DateOnly EarliestDateOfBirth = new(1900, 1, 1);

    /// <summary>Options for reading a request body: camelCase exactly, no unknown or repeated members.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        PropertyNameCaseInsensitive = false,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowDuplicateProperties = false,
        MaxDepth = 8,
        TypeInfoResolver = CheckRequestJsonContext.Default,
    };

    // Prefix letters per HMRC NIM39110 (README.md, "Validation"): first not D F I Q U V; second not D F I O Q U V.
    [GeneratedRegex("^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$", RegexOptions.CultureInvariant)]
    private static partial Regex NationalInsuranceNumberPattern();

    private static readonly HashSet<string> UnallocatedPrefixes = new(StringComparer.Ordinal) { "BG", "GB", "NK", "KN", "TN", "NT", "ZZ" };

    [GeneratedRegex("^[0-9]{2}(0[1-9]|1[0-2])[0-9]{5,6}$", RegexOptions.CultureInvariant)]
    private static partial Regex NassNumberPattern();

    /// <summary>The member a <see cref="JsonException"/> is about, in the API's dotted form (<c>subject.dateOfBirth</c>).</summary>
    public static string FieldOf(JsonException exception)
    {
        var path = exception.Path;
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        return path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
    }

    /// <summary>Applies every rule and reports each failing field, not just the first.</summary>
    /// <param name="schemeExists">Whether the trust framework in force knows a scheme id.</param>
    /// <param name="today">Today's date, for the "not in the future" rule.</param>
    public static CheckValidation Validate(CheckRequestBody body, Func<string, bool> schemeExists, DateOnly today)
    {
        var errors = new ValidationErrors();
        ValidateScheme(body.Scheme, schemeExists, errors);

        if (string.IsNullOrEmpty(body.LawfulBasis))
        {
            errors.Add("lawfulBasis", "The lawful basis is required: 'consent' or 'public-task'.");
        }
        else if (body.LawfulBasis is not ("consent" or "public-task"))
        {
            errors.Add("lawfulBasis", "The lawful basis must be 'consent' or 'public-task'.");
        }

        ValidateCaseReference(body.CaseReference, errors);
        var subject = ValidateSubject(body.Subject, today, errors);

        return errors.Count > 0 || subject is null
            ? CheckValidation.Invalid(errors)
            : CheckValidation.Valid(new ValidCheckRequest(body.Scheme!, body.LawfulBasis!, body.CaseReference!, subject));
    }

    /// <summary>
    /// Applies the rules for a check made with a consent-bound token (README.md): the subject comes from the consent,
    /// so <c>subject</c> must be absent, and <c>lawfulBasis</c> is <c>consent</c> or left out.
    /// </summary>
    public static ConsentCheckValidation ValidateUnderConsent(CheckRequestBody body, Func<string, bool> schemeExists)
    {
        var errors = new ValidationErrors();
        ValidateScheme(body.Scheme, schemeExists, errors);

        if (body.LawfulBasis is not (null or "consent"))
        {
            errors.Add("lawfulBasis", "A check with a consent-bound token is made under the lawful basis 'consent': send 'consent' or leave it out.");
        }

        ValidateCaseReference(body.CaseReference, errors);

        if (body.Subject is not null)
        {
            errors.Add("subject", "A check with a consent-bound token is about the citizen who authorised the consent: leave the subject out.");
        }

        return errors.Count > 0
            ? new ConsentCheckValidation(null, errors)
            : new ConsentCheckValidation(new ValidConsentCheckRequest(body.Scheme!, body.CaseReference!), errors);
    }

    /// <summary>The scheme is required and must be one the trust framework in force knows.</summary>
    internal static void ValidateScheme(string? scheme, Func<string, bool> schemeExists, ValidationErrors errors)
    {
        if (string.IsNullOrWhiteSpace(scheme))
        {
            errors.Add("scheme", "The scheme is required.");
        }
        else if (!schemeExists(scheme))
        {
            errors.Add("scheme", "The scheme is not one this gateway knows.");
        }
    }

    /// <summary>Trims, removes spaces and upper-cases an NI number, then checks its shape (README.md).</summary>
    public static bool TryNormaliseNationalInsuranceNumber(string raw, out string normalised)
    {
        normalised = RemoveSpaces(raw).ToUpperInvariant();
        return NationalInsuranceNumberPattern().IsMatch(normalised) && !UnallocatedPrefixes.Contains(normalised[..2]);
    }

    /// <summary>1–64 printable characters, not blank. Consent requests keep a case reference under the same rule.</summary>
    internal static void ValidateCaseReference(string? caseReference, ValidationErrors errors)
    {
        const string field = "caseReference";
        if (string.IsNullOrEmpty(caseReference))
        {
            errors.Add(field, "The case reference is required.");
            return;
        }

        var length = caseReference.EnumerateRunes().Count();
        if (length > 64)
        {
            errors.Add(field, "The case reference must be at most 64 characters.");
        }

        if (!caseReference.EnumerateRunes().All(IsPrintable))
        {
            errors.Add(field, "The case reference must contain printable characters only.");
        }
        else if (caseReference.Trim().Length == 0)
        {
            errors.Add(field, "The case reference must not be blank.");
        }
    }

    /// <summary>The subject's identifier, surname and date of birth, validated and normalised; null with <paramref name="errors"/> filled otherwise.</summary>
    internal static Subject? ValidateSubject(SubjectBody? body, DateOnly today, ValidationErrors errors)
    {
        if (body is null)
        {
            errors.Add("subject", "The subject is required.");
            return null;
        }

        var identifier = ValidateIdentifier(body, errors);
        var lastName = ValidateLastName(body.LastName, errors);
        var dateOfBirth = ValidateDateOfBirth(body.DateOfBirth, today, errors);

        return identifier is { } id && lastName is not null && dateOfBirth is { } dob
            ? new Subject(id.Kind, id.Value, lastName, dob)
            : null;
    }

    private static (IdentifierKind Kind, string Value)? ValidateIdentifier(SubjectBody body, ValidationErrors errors)
    {
        const string ni = "subject.nationalInsuranceNumber";
        const string nass = "subject.nationalAsylumSeekerServiceNumber";
        var hasNi = !string.IsNullOrWhiteSpace(body.NationalInsuranceNumber);
        var hasNass = !string.IsNullOrWhiteSpace(body.NationalAsylumSeekerServiceNumber);

        if (hasNi == hasNass)
        {
            var message = hasNi
                ? "Give exactly one of nationalInsuranceNumber and nationalAsylumSeekerServiceNumber, not both."
                : "Give exactly one of nationalInsuranceNumber and nationalAsylumSeekerServiceNumber.";
            errors.Add(ni, message);
            errors.Add(nass, message);
            return null;
        }

        if (hasNi)
        {
            if (TryNormaliseNationalInsuranceNumber(body.NationalInsuranceNumber!, out var normalised))
            {
                return (IdentifierKind.NationalInsuranceNumber, normalised);
            }

            errors.Add(ni, "Not a valid National Insurance number: two prefix letters, six digits and a suffix A to D, such as QQ123456C.");
            return null;
        }

        var nassNumber = RemoveSpaces(body.NationalAsylumSeekerServiceNumber!);
        if (NassNumberPattern().IsMatch(nassNumber))
        {
            return (IdentifierKind.NationalAsylumSeekerServiceNumber, nassNumber);
        }

        errors.Add(nass, "Not a valid NASS number: 9 or 10 digits, the third and fourth a month (01 to 12).");
        return null;
    }

    private static string? ValidateLastName(string? raw, ValidationErrors errors)
    {
        const string field = "subject.lastName";
        if (string.IsNullOrWhiteSpace(raw))
        {
            errors.Add(field, "The last name is required.");
            return null;
        }

        // Composed form, so that "é" typed as e + combining accent is the same name as the single code point.
        var name = raw.Trim().Normalize(NormalizationForm.FormC);
        var length = name.EnumerateRunes().Count();
        if (length > 100)
        {
            errors.Add(field, "The last name must be at most 100 characters.");
            return null;
        }

        if (!name.EnumerateRunes().All(IsNameCharacter))
        {
            errors.Add(field, "The last name may contain letters, spaces, hyphens and apostrophes only.");
            return null;
        }

        return name;
    }

    private static DateOnly? ValidateDateOfBirth(string? raw, DateOnly today, ValidationErrors errors)
    {
        const string field = "subject.dateOfBirth";
        if (string.IsNullOrEmpty(raw))
        {
            errors.Add(field, "The date of birth is required.");
            return null;
        }

        if (!DateOnly.TryParseExact(raw, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            errors.Add(field, "The date of birth must be a real date written yyyy-MM-dd.");
            return null;
        }

        if (date > today)
        {
            errors.Add(field, "The date of birth must not be in the future.");
            return null;
        }

        if (date < EarliestDateOfBirth)
        {
            errors.Add(field, "The date of birth must not be before 1900-01-01.");
            return null;
        }

        return date;
    }

    private static bool IsNameCharacter(Rune rune) =>
        Rune.IsLetter(rune)
        || Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
        || rune.Value is ' ' or '-' or '\'' or '\u2019' /* right single quotation mark, the typographic apostrophe */;

    private static bool IsPrintable(Rune rune) =>
        Rune.GetUnicodeCategory(rune) is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator);

    private static string RemoveSpaces(string value) => string.Concat(value.Where(c => !char.IsWhiteSpace(c)));
}

/// <summary>Field → messages, as the problem document's <c>errors</c> member.</summary>
internal sealed class ValidationErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public int Count => _errors.Count;

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var messages))
        {
            _errors[field] = messages = [];
        }

        messages.Add(message);
    }

    public IDictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}

/// <summary>Either a valid request or the errors that make it invalid; a value, never an exception.</summary>
internal sealed record CheckValidation(ValidCheckRequest? Request, ValidationErrors Errors)
{
    public static CheckValidation Valid(ValidCheckRequest request) => new(request, new ValidationErrors());

    public static CheckValidation Invalid(ValidationErrors errors) => new(null, errors);
}

/// <summary>Either a valid consent-bound request or the errors that make it invalid.</summary>
internal sealed record ConsentCheckValidation(ValidConsentCheckRequest? Request, ValidationErrors Errors);
