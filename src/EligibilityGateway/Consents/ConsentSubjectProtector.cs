using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;

namespace EligibilityGateway.Consents;

/// <summary>
/// Seals the citizen bound to a consent with AES-256-GCM under <see cref="KeyRing.ConsentEncryptionKey"/>. The
/// consent id is authenticated as associated data, so sealed identifiers copied onto another consent's row do not
/// open. Layout (version 1): <see cref="SealedEnvelope"/> (<c>version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)</c>,
/// the associated data <c>version ‖ "eligibility-gateway/consent-subject/v1" ‖</c> the consent id); the plaintext is
/// <c>kind (1: 1 NI, 2 NASS) ‖ date of birth as day number (4, big-endian) ‖ (length (2) ‖ UTF-8)</c> for the
/// identifier, the surname and the citizen id, in that order.
/// </summary>
internal sealed class ConsentSubjectProtector(KeyRing keyRing)
{
    private const byte FormatVersion = 1;
    private const int FixedPlaintextBytes = 1 + 4;

    private static readonly byte[] Domain = "eligibility-gateway/consent-subject/v1"u8.ToArray();

    private readonly byte[] encryptionKey = keyRing.ConsentEncryptionKey;

    /// <summary>Encrypts <paramref name="subject"/> for the consent <paramref name="consentId"/>, with a fresh random 96-bit nonce.</summary>
    public byte[] Seal(string consentId, ConsentedSubject subject)
    {
        ArgumentException.ThrowIfNullOrEmpty(consentId);
        ArgumentNullException.ThrowIfNull(subject);
        var plaintext = Encode(subject);
        try
        {
            return SealedEnvelope.Seal(encryptionKey, FormatVersion, plaintext, AssociatedData(consentId));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Opens sealed identifiers; false when they were altered, moved from another consent, sealed under another key or do not parse.</summary>
    public bool TryOpen(string consentId, ReadOnlySpan<byte> sealedValue, out ConsentedSubject? subject)
    {
        subject = null;
        if (sealedValue.Length < SealedEnvelope.Overhead + FixedPlaintextBytes
            || SealedEnvelope.Open(encryptionKey, FormatVersion, sealedValue, AssociatedData(consentId)) is not { } plaintext)
        {
            return false;
        }

        try
        {
            return TryDecode(plaintext, out subject);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    // The envelope puts the version in front: version ‖ domain ‖ consent id, as format 1 has always authenticated.
    private static byte[] AssociatedData(string consentId)
    {
        var data = new byte[Domain.Length + Encoding.UTF8.GetByteCount(consentId)];
        Domain.CopyTo(data, 0);
        Encoding.UTF8.GetBytes(consentId, data.AsSpan(Domain.Length));
        return data;
    }

    private static byte[] Encode(ConsentedSubject consented)
    {
        var subject = consented.Subject;
        string[] fields = [subject.Identifier, subject.LastName, consented.CitizenId];
        var buffer = new byte[FixedPlaintextBytes + fields.Sum(f => 2 + Encoding.UTF8.GetByteCount(f))];
        buffer[0] = subject.IdentifierKind switch
        {
            IdentifierKind.NationalInsuranceNumber => 1,
            IdentifierKind.NationalAsylumSeekerServiceNumber => 2,
            _ => throw new ArgumentOutOfRangeException(nameof(consented), subject.IdentifierKind, "Unknown identifier kind."),
        };
        BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(1), subject.DateOfBirth.DayNumber);
        var offset = FixedPlaintextBytes;
        foreach (var field in fields)
        {
            var length = Encoding.UTF8.GetBytes(field, buffer.AsSpan(offset + 2));
            if (length > ushort.MaxValue)
            {
                throw new ArgumentException("A consented subject's field is too long to seal.", nameof(consented));
            }

            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset), (ushort)length);
            offset += 2 + length;
        }

        return buffer;
    }

    private static bool TryDecode(ReadOnlySpan<byte> plaintext, out ConsentedSubject? subject)
    {
        subject = null;
        IdentifierKind? kind = plaintext[0] switch
        {
            1 => IdentifierKind.NationalInsuranceNumber,
            2 => IdentifierKind.NationalAsylumSeekerServiceNumber,
            _ => null,
        };
        var dayNumber = BinaryPrimitives.ReadInt32BigEndian(plaintext[1..]);
        if (kind is null || dayNumber < DateOnly.MinValue.DayNumber || dayNumber > DateOnly.MaxValue.DayNumber)
        {
            return false;
        }

        var rest = plaintext[FixedPlaintextBytes..];
        var fields = new string[3];
        for (var i = 0; i < fields.Length; i++)
        {
            if (rest.Length < 2 || rest.Length < 2 + BinaryPrimitives.ReadUInt16BigEndian(rest))
            {
                return false;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(rest);
            fields[i] = Encoding.UTF8.GetString(rest.Slice(2, length));
            rest = rest[(2 + length)..];
        }

        if (!rest.IsEmpty)
        {
            return false;
        }

        subject = new ConsentedSubject(new Subject(kind.Value, fields[0], fields[1], DateOnly.FromDayNumber(dayNumber)), fields[2]);
        return true;
    }
}
