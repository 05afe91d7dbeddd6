using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;

namespace EligibilityGateway.Audit;

/// <summary>
/// Turns a person into the only form in which the audit log knows them: <c>sr1:</c> followed by the base64url
/// HMAC-SHA256, under <see cref="KeyRing.SubjectReferenceKey"/>, of identifier kind, normalised identifier and date
/// of birth (README.md, "Subject reference"; never an unkeyed hash of personal data).
/// </summary>
/// <remarks>
/// The surname is left out on purpose. The identifier with the date of birth already singles out one person,
/// while surnames change (marriage) and are spelt differently from one system to the next (case, accents,
/// hyphens, apostrophes). Including it would split one person's checks over several references, and the
/// auditor's subject search and the citizen's activity list must find every check about a person, including a
/// check made with a misspelt surname that the providers then failed to match.
/// Version 1 of the message is the ASCII domain label <c>eligibility-gateway/subject-reference/v1</c>, then
/// each field as one length byte and its ASCII bytes: kind (<c>nino</c> or <c>nass</c>), the identifier with
/// white space removed and upper-cased, and the date of birth as <c>yyyy-MM-dd</c>. Length prefixes keep the
/// encoding unambiguous; the domain label and the <c>sr1:</c> prefix change together if it ever changes.
/// </remarks>
internal sealed class SubjectReferences
{
    /// <summary>Prefix of version-1 references.</summary>
    public const string Prefix = "sr1:";

    private const int MacBytes = 32;
    private const int MaxIdentifierLength = 32;
    private static readonly int EncodedLength = Prefix.Length + Base64Url.GetEncodedLength(MacBytes);

    private readonly byte[] key;

    public SubjectReferences(KeyRing keyRing)
        : this(keyRing?.SubjectReferenceKey ?? throw new ArgumentNullException(nameof(keyRing)))
    {
    }

    /// <param name="key">32 bytes; the key ring's subject-reference key in the running gateway.</param>
    public SubjectReferences(ReadOnlySpan<byte> key)
    {
        if (key.Length != MacBytes)
        {
            throw new ArgumentException($"A subject-reference key has {MacBytes} bytes.", nameof(key));
        }

        this.key = key.ToArray();
    }

    /// <summary>The subject's reference; the same person always gets the same reference under the same key.</summary>
    /// <exception cref="ArgumentException">The identifier is not a normalised NI or NASS number (letters and digits only).</exception>
    public string Compute(Subject subject)
    {
        ArgumentNullException.ThrowIfNull(subject);
        Span<byte> message = stackalloc byte[128];
        var length = 0;
        Append(message, ref length, "eligibility-gateway/subject-reference/v1"u8, lengthPrefix: false);
        Append(message, ref length, subject.IdentifierKind switch
        {
            IdentifierKind.NationalInsuranceNumber => "nino"u8,
            IdentifierKind.NationalAsylumSeekerServiceNumber => "nass"u8,
            _ => throw new ArgumentOutOfRangeException(nameof(subject), subject.IdentifierKind, "Unknown identifier kind."),
        }, lengthPrefix: true);

        Span<byte> identifier = stackalloc byte[MaxIdentifierLength];
        Append(message, ref length, NormaliseIdentifier(subject.Identifier, identifier), lengthPrefix: true);

        Span<byte> date = stackalloc byte[10];
        subject.DateOfBirth.TryFormat(date, out var written, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        Append(message, ref length, date[..written], lengthPrefix: true);

        Span<byte> mac = stackalloc byte[MacBytes];
        HMACSHA256.HashData(key, message[..length], mac);
        Span<char> reference = stackalloc char[EncodedLength];
        Prefix.CopyTo(reference);
        Base64Url.EncodeToChars(mac, reference[Prefix.Length..]);
        return new string(reference);
    }

    /// <summary>True when <paramref name="value"/> has the shape of a version-1 reference (and so cannot be an identifier).</summary>
    public static bool IsWellFormed(string? value) =>
        value is not null
        && value.Length == EncodedLength
        && value.StartsWith(Prefix, StringComparison.Ordinal)
        && Base64Url.IsValid(value.AsSpan(Prefix.Length), out var decoded)
        && decoded == MacBytes;

    private static ReadOnlySpan<byte> NormaliseIdentifier(string value, Span<byte> destination)
    {
        // Subject promises a normalised identifier; normalising again costs nothing and keeps the reference stable
        // even if a caller passes "ab 12 34 56 c".
        var length = 0;
        foreach (var c in value)
        {
            if (char.IsWhiteSpace(c))
            {
                continue;
            }

            if (!char.IsAsciiLetterOrDigit(c) || length == destination.Length)
            {
                throw new ArgumentException("The subject's identifier is not a normalised NI or NASS number.", nameof(value));
            }

            destination[length++] = (byte)char.ToUpperInvariant(c);
        }

        if (length == 0)
        {
            throw new ArgumentException("The subject has no identifier.", nameof(value));
        }

        return destination[..length];
    }

    private static void Append(Span<byte> message, ref int length, ReadOnlySpan<byte> field, bool lengthPrefix)
    {
        if (lengthPrefix)
        {
            message[length++] = (byte)field.Length;
        }

        field.CopyTo(message[length..]);
        length += field.Length;
    }
}
