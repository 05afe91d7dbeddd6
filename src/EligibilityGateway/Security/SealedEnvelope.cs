using System.Security.Cryptography;

namespace EligibilityGateway.Security;

/// <summary>
/// The one AES-256-GCM envelope every sealed value at rest uses: cached answers, the citizen bound to a consent and
/// the authorization server's state in Redis. Layout: <c>version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)</c>, with
/// a fresh random 96-bit nonce per value. The associated data the cipher authenticates is <c>version ‖</c> the
/// caller's associated data, so neither the version byte nor the record a value belongs to (its cache key, consent
/// id or Redis key) can be changed without the value failing to open.
/// </summary>
internal static class SealedEnvelope
{
    public const int NonceBytes = 12;
    public const int TagBytes = 16;
    public const int HeaderBytes = 1 + NonceBytes;

    /// <summary>Bytes an envelope adds to its plaintext.</summary>
    public const int Overhead = HeaderBytes + TagBytes;

    /// <summary>Seals <paramref name="plaintext"/> under <paramref name="key"/> (32 bytes) as format <paramref name="version"/>.</summary>
    public static byte[] Seal(byte[] key, byte version, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> associatedData)
    {
        var sealedValue = new byte[Overhead + plaintext.Length];
        sealedValue[0] = version;
        var nonce = sealedValue.AsSpan(1, NonceBytes);
        RandomNumberGenerator.Fill(nonce);
        // A new AesGcm per call: instances are not documented as thread-safe, and set-up costs microseconds.
        using var aes = new AesGcm(key, TagBytes);
        aes.Encrypt(nonce, plaintext, sealedValue.AsSpan(HeaderBytes, plaintext.Length), sealedValue.AsSpan(HeaderBytes + plaintext.Length), Authenticated(version, associatedData));
        return sealedValue;
    }

    /// <summary>
    /// Opens an envelope; null when it is too short, of another version, was altered, belongs to other associated data
    /// or was sealed under another key. The caller owns the plaintext returned (and zeroes it when it is personal).
    /// </summary>
    public static byte[]? Open(byte[] key, byte version, ReadOnlySpan<byte> sealedValue, ReadOnlySpan<byte> associatedData)
    {
        if (sealedValue.Length < Overhead || sealedValue[0] != version)
        {
            return null;
        }

        var plaintext = new byte[sealedValue.Length - Overhead];
        try
        {
            using var aes = new AesGcm(key, TagBytes);
            aes.Decrypt(sealedValue.Slice(1, NonceBytes), sealedValue.Slice(HeaderBytes, plaintext.Length), sealedValue[^TagBytes..], plaintext, Authenticated(version, associatedData));
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    private static byte[] Authenticated(byte version, ReadOnlySpan<byte> associatedData)
    {
        var data = new byte[1 + associatedData.Length];
        data[0] = version;
        associatedData.CopyTo(data.AsSpan(1));
        return data;
    }
}
