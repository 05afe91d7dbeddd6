using Microsoft.Extensions.Options;
using MockCentralGovernment.Configuration;
using MockCentralGovernment.Population;

namespace MockCentralGovernment.Faults;

/// <summary>
/// Holds each provider's current <see cref="FaultSettings"/> and the per-request random draws. Settings are swapped
/// with compare-and-exchange; draws hash (seed, provider, request counter), so they cost one interlocked increment
/// and no lock, and a given seed gives the same sequence of draws.
/// </summary>
internal sealed class FaultController
{
    private const ulong Gamma = 0x9E3779B97F4A7C15;

    private readonly FaultSettings[] _current;
    private readonly long[] _draws;
    private readonly ulong _seed;

    public FaultController(IOptions<MockGovernmentOptions> options)
    {
        Defaults = FaultSettings.None(options.Value.Control.DefaultTimeoutHoldMilliseconds);
        _seed = unchecked((ulong)options.Value.Control.FaultSeed);
        _current = [.. ProviderKinds.All.Select(_ => Defaults)];
        _draws = new long[ProviderKinds.All.Count];
    }

    /// <summary>What a reset returns to: no faults.</summary>
    public FaultSettings Defaults { get; }

    public FaultSettings Get(ProviderKind provider) => Volatile.Read(ref _current[(int)provider]);

    /// <summary>Applies <paramref name="change"/> atomically; it may run more than once under contention, so it must be pure.</summary>
    public FaultSettings Update(ProviderKind provider, Func<FaultSettings, FaultSettings> change)
    {
        ref var slot = ref _current[(int)provider];
        while (true)
        {
            var seen = Volatile.Read(ref slot);
            var next = change(seen);
            if (ReferenceEquals(Interlocked.CompareExchange(ref slot, next, seen), seen))
            {
                return next;
            }
        }
    }

    public FaultSettings Reset(ProviderKind provider) => Update(provider, _ => Defaults);

    /// <summary>A uniform draw in [0, 1) for the next decision about <paramref name="provider"/>.</summary>
    public double NextUnit(ProviderKind provider)
    {
        var counter = unchecked((ulong)Interlocked.Increment(ref _draws[(int)provider]));
        return SplitMix64.ToUnit(SplitMix64.Mix(unchecked(_seed + ((ulong)provider << 56) + (counter * Gamma))));
    }
}
