using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Text;
using EligibilityGateway.Checks;
using EligibilityGateway.Security;

namespace EligibilityGateway.Caching;

/// <summary>
/// Seals cached answers with AES-256-GCM under <see cref="KeyRing.CacheEncryptionKey"/> (README.md). The key the
/// value is stored under is authenticated as associated data, so a value copied to another key does not open.
/// Layout (version 1): <see cref="SealedEnvelope"/> (<c>version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)</c>, the
/// associated data <c>version ‖</c> the UTF-8 cache key); the plaintext is
/// <c>outcome (1) ‖ checkedAt UTC ticks (8, big-endian) ‖ validUntil UTC ticks (8) ‖ count (1) ‖ (length (2) ‖ UTF-8)*</c>.
/// </summary>
internal sealed class AnswerProtector(KeyRing keyRing)
{
    private const byte FormatVersion = 1;
    private const int FixedPlaintextBytes = 1 + 8 + 8 + 1;

    private readonly byte[] encryptionKey = keyRing.CacheEncryptionKey;

    /// <summary>Encrypts <paramref name="answer"/> for storage under <paramref name="key"/>, with a fresh random 96-bit nonce.</summary>
    public byte[] Protect(CacheKey key, CachedAnswer answer) =>
        SealedEnvelope.Seal(encryptionKey, FormatVersion, Encode(answer), Encoding.UTF8.GetBytes(key.Value));

    /// <summary>Opens a stored value; false when it is of another version, was altered, was moved from another key, was sealed under another key or does not parse.</summary>
    public bool TryUnprotect(CacheKey key, ReadOnlySpan<byte> sealedValue, out CachedAnswer? answer)
    {
        answer = null;
        return sealedValue.Length >= SealedEnvelope.Overhead + FixedPlaintextBytes
            && SealedEnvelope.Open(encryptionKey, FormatVersion, sealedValue, Encoding.UTF8.GetBytes(key.Value)) is { } plaintext
            && TryDecode(plaintext, out answer);
    }

    private static byte[] Encode(CachedAnswer answer)
    {
        if (answer.ConfirmedBy.Length > byte.MaxValue)
        {
            throw new ArgumentException($"At most {byte.MaxValue} confirming providers can be cached.", nameof(answer));
        }

        var size = FixedPlaintextBytes + answer.ConfirmedBy.Sum(id => 2 + Encoding.UTF8.GetByteCount(id));
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        span[0] = (byte)answer.Outcome;
        BinaryPrimitives.WriteInt64BigEndian(span[1..], answer.CheckedAt.UtcTicks);
        BinaryPrimitives.WriteInt64BigEndian(span[9..], answer.ValidUntil.UtcTicks);
        span[17] = (byte)answer.ConfirmedBy.Length;
        var offset = FixedPlaintextBytes;
        foreach (var id in answer.ConfirmedBy)
        {
            var length = Encoding.UTF8.GetBytes(id, span[(offset + 2)..]);
            if (length > ushort.MaxValue)
            {
                throw new ArgumentException("A provider id is too long to cache.", nameof(answer));
            }

            BinaryPrimitives.WriteUInt16BigEndian(span[offset..], (ushort)length);
            offset += 2 + length;
        }

        return buffer;
    }

    private static bool TryDecode(ReadOnlySpan<byte> plaintext, out CachedAnswer? answer)
    {
        answer = null;
        var outcome = (Outcome)plaintext[0];
        var checkedAt = BinaryPrimitives.ReadInt64BigEndian(plaintext[1..]);
        var validUntil = BinaryPrimitives.ReadInt64BigEndian(plaintext[9..]);
        if (!Enum.IsDefined(outcome) || !IsTicks(checkedAt) || !IsTicks(validUntil))
        {
            return false;
        }

        var count = plaintext[17];
        var confirmedBy = ImmutableArray.CreateBuilder<string>(count);
        var rest = plaintext[FixedPlaintextBytes..];
        for (var i = 0; i < count; i++)
        {
            if (rest.Length < 2)
            {
                return false;
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(rest);
            if (rest.Length < 2 + length)
            {
                return false;
            }

            confirmedBy.Add(Encoding.UTF8.GetString(rest.Slice(2, length)));
            rest = rest[(2 + length)..];
        }

        if (!rest.IsEmpty)
        {
            return false;
        }

        answer = new CachedAnswer(outcome, confirmedBy.MoveToImmutable(), new DateTimeOffset(checkedAt, TimeSpan.Zero), new DateTimeOffset(validUntil, TimeSpan.Zero));
        return true;
    }

    private static bool IsTicks(long ticks) => ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks;
}
