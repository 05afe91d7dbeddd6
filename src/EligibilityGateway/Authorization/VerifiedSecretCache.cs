using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.TrustFramework;
using Microsoft.Extensions.Primitives;

namespace EligibilityGateway.Authorization;

/// <summary>
/// Remembers, per client, the last secret that verified, so the token endpoint pays PBKDF2 (milliseconds) once
/// rather than on every request (its target is 4,000 tokens a second). Holds an HMAC-SHA256 of the secret under a
/// key drawn at random when the process starts, never the secret; compares in constant time. An entry counts only
/// while the framework in force holds the very <see cref="SecretHash"/> it was verified against, and the whole map is
/// dropped when the framework reloads, so a changed or removed secret stops working at once.
/// </summary>
internal sealed class VerifiedSecretCache : IDisposable
{
    /// <summary>One entry per client at most; more clients than this simply verify by PBKDF2 each time.</summary>
    public const int Capacity = 4096;

    private readonly byte[] key = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private readonly IDisposable reloadSubscription;
    private readonly ILogger<VerifiedSecretCache> logger;

    public VerifiedSecretCache(TrustFrameworkMonitor monitor, ILogger<VerifiedSecretCache> logger)
    {
        this.logger = logger;
        reloadSubscription = ChangeToken.OnChange(monitor.GetReloadToken, Forget);
    }

    /// <summary>How many clients have a remembered verification (for tests and diagnostics).</summary>
    public int Count => entries.Count;

    /// <summary>True when <paramref name="secret"/> matches <paramref name="hash"/>, from memory when it can.</summary>
    public bool Verify(string clientId, SecretHash hash, string secret)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(secret), mac);
        if (entries.TryGetValue(clientId, out var entry)
            && ReferenceEquals(entry.Hash, hash)
            && CryptographicOperations.FixedTimeEquals(entry.Mac, mac))
        {
            return true;
        }

        if (!hash.Verify(secret))
        {
            return false;
        }

        if (entries.Count < Capacity || entries.ContainsKey(clientId))
        {
            entries[clientId] = new Entry(hash, mac.ToArray());
        }

        return true;
    }

    private void Forget()
    {
        var count = entries.Count;
        entries.Clear();
        if (count > 0)
        {
            Log.VerifiedSecretsForgotten(logger, count);
        }
    }

    public void Dispose() => reloadSubscription.Dispose();

    private sealed record Entry(SecretHash Hash, byte[] Mac);
}
