using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace EligibilityGateway.Authorization;

/// <summary>
/// Remembers the tokens the <c>Bearer</c> scheme has validated, keyed by SHA-256 of the exact token, until they
/// expire, so a busy caller costs one ECDSA verification per token rather than per request (README.md, "Caches").
/// A hit is only ever the same token string; revocation and the trust framework are still looked up per request.
/// </summary>
internal sealed class ValidatedAccessTokenCache(TimeProvider timeProvider)
{
    /// <summary>Live tokens remembered at most; each entry is under 200 bytes.</summary>
    public const int Capacity = 50_000;

    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<UInt128, ValidatedAccessToken> tokens = new();
    private long nextSweepTicks;

    /// <summary>How many validated tokens are remembered (for tests and diagnostics).</summary>
    public int Count => tokens.Count;

    /// <summary>A remembered token still within its lifetime (<see cref="GatewayBearer.ClockSkew"/>, injected clock).</summary>
    public bool TryGet(string token, out ValidatedAccessToken validated)
    {
        if (tokens.TryGetValue(Hash(token), out validated!) && IsLive(validated, timeProvider.GetUtcNow()))
        {
            return true;
        }

        validated = null!;
        return false;
    }

    public void Add(string token, ValidatedAccessToken validated)
    {
        var now = timeProvider.GetUtcNow();
        var due = Interlocked.Read(ref nextSweepTicks);
        if (now.UtcTicks >= due && Interlocked.CompareExchange(ref nextSweepTicks, now.UtcTicks + SweepInterval.Ticks, due) == due)
        {
            foreach (var (key, cached) in tokens)
            {
                if (!IsLive(cached, now))
                {
                    tokens.TryRemove(key, out _);
                }
            }
        }

        // Full of live tokens: validate the rest each time rather than grow without bound.
        if (tokens.Count < Capacity)
        {
            tokens.TryAdd(Hash(token), validated);
        }
    }

    /// <summary>The rule of <see cref="GatewayBearer"/>'s lifetime check; a lapsed entry sends the token back to the library.</summary>
    private static bool IsLive(ValidatedAccessToken token, DateTimeOffset now) =>
        now < token.ExpiresAt + GatewayBearer.ClockSkew && (token.NotBefore is not { } notBefore || now >= notBefore - GatewayBearer.ClockSkew);

    /// <summary>128 bits of SHA-256: collisions need 2^64 work even when sought, and a forged token cannot aim at one.</summary>
    private static UInt128 Hash(string token)
    {
        Span<byte> utf8 = stackalloc byte[GatewayBearer.MaximumTokenLength * 3];
        var length = Encoding.UTF8.GetBytes(token, utf8);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8[..length], digest);
        return BinaryPrimitives.ReadUInt128LittleEndian(digest);
    }
}
