namespace MockCentralGovernment.Population;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny generator whose sequence depends only on the seed, so the
/// synthetic population is identical on every run, runtime version and machine — which <see cref="Random"/> does
/// not promise across .NET versions.
/// </summary>
internal sealed class SplitMix64(ulong seed)
{
    private const ulong Gamma = 0x9E3779B97F4A7C15;

    private ulong _state = seed;

    public ulong Next()
    {
        _state += Gamma;
        return Mix(_state);
    }

    /// <summary>A value in [0, <paramref name="maxExclusive"/>), by Lemire's multiply-shift (no modulo bias worth the name at these ranges).</summary>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        return (int)Math.BigMul(Next(), (ulong)maxExclusive, out _);
    }

    public int Next(int minInclusive, int maxExclusive) => minInclusive + Next(maxExclusive - minInclusive);

    /// <summary>True with probability <paramref name="percent"/>/100.</summary>
    public bool Percent(int percent) => Next(100) < percent;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    public DateOnly NextDate(DateOnly fromInclusive, DateOnly toInclusive) =>
        fromInclusive.AddDays(Next(toInclusive.DayNumber - fromInclusive.DayNumber + 1));

    /// <summary>An amount in pounds with exactly two decimal places.</summary>
    public decimal NextPounds(int minPence, int maxPenceExclusive) => new(Next(minPence, maxPenceExclusive), 0, 0, false, 2);

    public Guid NextGuid()
    {
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, Next());
        BitConverter.TryWriteBytes(bytes[8..], Next());
        // RFC 9562 §5.4: mark it as a version 4 (random) UUID so it looks like any other opaque id.
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes);
    }

    /// <summary>The SplitMix64 finaliser: a stateless, well-mixed hash of one 64-bit value.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform double in [0, 1) from the top 53 bits of <paramref name="bits"/>.</summary>
    public static double ToUnit(ulong bits) => (bits >> 11) * (1.0 / (1UL << 53));
}
