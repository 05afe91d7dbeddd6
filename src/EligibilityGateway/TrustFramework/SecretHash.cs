using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace EligibilityGateway.TrustFramework;

/// <summary>
/// A salted PBKDF2-HMAC-SHA256 hash of a client secret or password, written
/// <c>pbkdf2-sha256$&lt;iterations&gt;$&lt;base64 salt&gt;$&lt;base64 hash&gt;</c>. The trust framework never holds a
/// secret in clear, so a leaked framework file does not leak credentials.
/// </summary>
internal sealed class SecretHash
{
    /// <summary>The algorithm label at the start of every hash.</summary>
    public const string Algorithm = "pbkdf2-sha256";

    /// <summary>Below this a hash is too cheap to brute-force offline even for sandbox use.</summary>
    public const int MinimumIterations = 10_000;

    /// <summary>Above this one verification would stall the token endpoint for seconds.</summary>
    public const int MaximumIterations = 10_000_000;

    public const int MinimumSaltBytes = 16;
    public const int HashBytes = 32;

    private readonly byte[] salt;
    private readonly byte[] hash;

    private SecretHash(int iterations, byte[] salt, byte[] hash)
    {
        Iterations = iterations;
        this.salt = salt;
        this.hash = hash;
    }

    public int Iterations { get; }

    /// <summary>Hashes <paramref name="secret"/> with a fresh random salt.</summary>
    public static SecretHash Create(string secret, int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinimumIterations);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(iterations, MaximumIterations);
        var salt = RandomNumberGenerator.GetBytes(MinimumSaltBytes);
        return new SecretHash(iterations, salt, Derive(secret, salt, iterations, HashBytes));
    }

    /// <summary>Parses the textual form; on failure <paramref name="error"/> says what is wrong without echoing the value.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out SecretHash? result, [NotNullWhen(false)] out string? error)
    {
        result = null;
        var parts = text.Split('$');
        if (parts.Length != 4 || parts[0] != Algorithm)
        {
            error = $"must be '{Algorithm}$<iterations>$<base64 salt>$<base64 hash>'";
            return false;
        }

        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var iterations)
            || iterations < MinimumIterations || iterations > MaximumIterations)
        {
            error = $"iteration count must be an integer from {MinimumIterations} to {MaximumIterations}";
            return false;
        }

        var salt = DecodeBase64(parts[2]);
        if (salt is null || salt.Length < MinimumSaltBytes)
        {
            error = $"salt must be base64 of at least {MinimumSaltBytes} bytes";
            return false;
        }

        var hash = DecodeBase64(parts[3]);
        if (hash is null || hash.Length != HashBytes)
        {
            error = $"hash must be base64 of {HashBytes} bytes";
            return false;
        }

        result = new SecretHash(iterations, salt, hash);
        error = null;
        return true;
    }

    /// <summary>
    /// True when <paramref name="secret"/> hashes to the stored value. The comparison takes the same time
    /// wherever the first differing byte is, so response timing does not reveal how close a guess was.
    /// </summary>
    public bool Verify(string secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var candidate = Derive(secret, salt, Iterations, hash.Length);
        return CryptographicOperations.FixedTimeEquals(candidate, hash);
    }

    public override string ToString() =>
        string.Join('$', Algorithm, Iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));

    private static byte[] Derive(string secret, byte[] salt, int iterations, int length) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, iterations, HashAlgorithmName.SHA256, length);

    private static byte[]? DecodeBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out var written) ? buffer[..written] : null;
    }
}
