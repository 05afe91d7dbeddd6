using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;

namespace EligibilityGateway.Caching;

/// <summary>
/// Turns "this council asks about this person for this scheme (under this consent)" into an opaque
/// <see cref="CacheKey"/>: HMAC-SHA256 under <see cref="KeyRing.CacheIndexKey"/> over a versioned, length-prefixed
/// encoding of every part. Keyed, because an unkeyed hash of identifier + surname + birth date is brute-forceable
/// (NI numbers, surnames and birth dates are few enough to enumerate); every part inside the MAC, so the same
/// person asked by another council, for another scheme or under another consent gets an unrelated key
/// (README.md, "Keys").
/// </summary>
internal sealed class CacheKeys(KeyRing keyRing)
{
    /// <summary>Prefix of every answer key; bump the version when the encoding below changes.</summary>
    public const string AnswerKeyPrefix = "egw:a1:";

    // First byte of the MAC input: the encoding version. A new encoding must not collide with this one.
    private const byte EncodingVersion = 1;

    private readonly byte[] indexKey = keyRing.CacheIndexKey;

    /// <summary>The key for an answer about <paramref name="subject"/> obtained by <paramref name="councilId"/> for <paramref name="schemeId"/>.</summary>
    /// <param name="councilId">The council's participant id in the trust framework.</param>
    /// <param name="schemeId">The scheme id, e.g. <c>free-school-meals</c>.</param>
    /// <param name="consentId">The consent the check runs under; null for other lawful bases. Part of the key, so an answer obtained under one consent is never served under another.</param>
    /// <param name="subject">The normalised subject; its surname is compared case-insensitively.</param>
    public CacheKey For(string councilId, string schemeId, string? consentId, Subject subject)
    {
        ArgumentException.ThrowIfNullOrEmpty(councilId);
        ArgumentException.ThrowIfNullOrEmpty(schemeId);
        ArgumentNullException.ThrowIfNull(subject);

        var writer = new ArrayBufferWriter<byte>(256);
        writer.Write([EncodingVersion]);
        WriteField(writer, councilId);
        WriteField(writer, schemeId);
        // A presence byte keeps "no consent" apart from an empty consent id.
        writer.Write([consentId is null ? (byte)0 : (byte)1]);
        WriteField(writer, consentId ?? "");
        WriteField(writer, IdentifierKindName(subject.IdentifierKind));
        WriteField(writer, subject.Identifier);
        WriteField(writer, subject.LastName.ToLowerInvariant());
        WriteField(writer, subject.DateOfBirth.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));

        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(indexKey, writer.WrittenSpan, mac);
        return new CacheKey(AnswerKeyPrefix + Base64Url.EncodeToString(mac));
    }

    // Stable names rather than enum numbers, so that reordering the enum cannot silently re-key the cache.
    private static string IdentifierKindName(IdentifierKind kind) => kind switch
    {
        IdentifierKind.NationalInsuranceNumber => "nino",
        IdentifierKind.NationalAsylumSeekerServiceNumber => "nass",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    // Four-byte big-endian length, then UTF-8: no choice of values can make two different tuples encode alike.
    private static void WriteField(ArrayBufferWriter<byte> writer, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        var span = writer.GetSpan(4 + length);
        BinaryPrimitives.WriteInt32BigEndian(span, length);
        Encoding.UTF8.GetBytes(value, span[4..]);
        writer.Advance(4 + length);
    }
}
