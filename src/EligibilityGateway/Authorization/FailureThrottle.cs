using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using EligibilityGateway.Caching;
using EligibilityGateway.Security;
using Microsoft.IdentityModel.Tokens;
using StackExchange.Redis;

namespace EligibilityGateway.Authorization;

/// <summary>
/// How many failures a counter allows before it locks, and for how long it then locks: <see cref="FirstLockout"/>
/// at the <see cref="Failures"/>th failure, doubling with each further one up to <see cref="MaximumLockout"/>.
/// </summary>
internal sealed record ThrottleLimit(int Failures, TimeSpan FirstLockout, TimeSpan MaximumLockout)
{
    /// <summary>How long a counter that has just reached <paramref name="failures"/> is locked; zero below the limit.</summary>
    public TimeSpan LockoutAfter(long failures)
    {
        if (failures < Failures)
        {
            return TimeSpan.Zero;
        }

        // 2^(failures - limit) minutes overtakes any maximum within a few doublings; stop doubling there.
        var doublings = Math.Min(failures - Failures, 30);
        var lockout = FirstLockout * Math.Pow(2, doublings);
        return lockout < MaximumLockout ? lockout : MaximumLockout;
    }
}

/// <summary>
/// One throttle's two counters: one per identity (a username, a client id) and one per client address (IPv4 address
/// or IPv6 /64), the address limit the lower, so that one address cannot lock an identity out by itself.
/// </summary>
/// <param name="Name">Names the throttle in keys and logs (<c>sign-in</c>, <c>client-secret</c>).</param>
/// <param name="IdentityKind">What the identity is, for logs (<c>username</c>, <c>client</c>).</param>
internal sealed record ThrottleSettings(string Name, string IdentityKind, ThrottleLimit Identity, ThrottleLimit Address);

/// <summary>A throttle's answer: allowed, or refused for <see cref="RetryAfter"/> because of <see cref="RefusedBy"/>.</summary>
/// <param name="RetryAfter">Zero when allowed; otherwise how long until the lock ends.</param>
/// <param name="RefusedBy">The counter that refused: the identity kind (<c>username</c>, <c>client</c>) or <c>address</c>.</param>
internal readonly record struct ThrottleDecision(TimeSpan RetryAfter, string? RefusedBy)
{
    public static ThrottleDecision Allow => default;

    public bool Allowed => RefusedBy is null;

    /// <summary>Whole seconds for <c>Retry-After</c> (RFC 9110 §10.2.3), rounded up, at least 1.</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds));

    /// <summary>Whole minutes to tell a person, rounded up, at least 1.</summary>
    public int RetryAfterMinutes => Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalMinutes));
}

/// <summary>
/// Counts failed authentications per identity and per client address and refuses both for a while once either
/// counter reaches its <see cref="ThrottleLimit"/> (OWASP Authentication Cheat Sheet, "Protect against automated
/// attacks"; NIST SP 800-63B §5.2.2, rate limiting). The caller checks before verifying (<see cref="CheckAsync"/>),
/// records a failure (<see cref="RecordFailureAsync"/>), and on success asks again and clears both counters
/// (<see cref="SucceedAsync"/>): a guess that raced others past the limit is then refused even when right, so
/// parallel requests cannot buy more answers than the limit.
/// </summary>
/// <remarks>
/// <para>Counters are found by a keyed HMAC-SHA256 of the throttle, the counter kind and the value, under a key derived
/// (HKDF) from the cache index key, so neither memory nor Redis holds a username, client id or address.</para>
/// <para>With <c>Cache:Redis</c> set the counters live in Redis, shared by every replica (atomic Lua scripts; each key
/// expires <see cref="Memory"/> after its last failure). When Redis fails, the throttle counts in this process instead
/// (logged once per outage, event 1216) and tries Redis again after <c>Cache:BackOff</c>: it never stops throttling,
/// and never refuses everyone because Redis is away. Counts made in memory during an outage are not merged back.</para>
/// <para>In memory at most <c>capacity</c> counters are kept. A new counter evicts expired ones first, then the least
/// recently failed counter still below its limit, and only then the least recently failed locked one: a spray of
/// invented usernames can push out partial counts, but it cannot unlock a locked username without first locking
/// <c>capacity</c> others.</para>
/// </remarks>
internal abstract class FailureThrottle
{
    /// <summary>A counter is forgotten this long after its last failure; longer than any lockout.</summary>
    public static readonly TimeSpan Memory = TimeSpan.FromMinutes(15);

    /// <summary>Counters kept in memory per throttle (about 250 bytes each).</summary>
    public const int DefaultCapacity = 50_000;

    /// <summary>Address counter value when the connection has no address (a Unix socket without forwarded headers).</summary>
    public const string UnknownAddress = "unknown";

    private const string AddressKind = "address";

    // Scripts, not commands: each step reads and writes both counters atomically (count, lock, expire; or check every
    // lock, then delete), which no single Redis command does.
    // KEYS: the counters. ARGV[1]: now (Unix ms); ARGV[2]: memory (ms); then per key i: limit, first, maximum lockout (ms).
    // The counter and its lock change together, and the key lives Memory past its last failure.
    private const string RecordFailureScript = """
        local now = tonumber(ARGV[1])
        for i = 1, #KEYS do
          local limit, first, maximum = tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1]), tonumber(ARGV[3 * i + 2])
          local failures = redis.call('HINCRBY', KEYS[i], 'n', 1)
          if failures >= limit then
            local lockout = math.min(first * 2 ^ math.min(failures - limit, 30), maximum)
            redis.call('HSET', KEYS[i], 'u', string.format('%.0f', now + lockout))
          end
          redis.call('PEXPIRE', KEYS[i], ARGV[2])
        end
        return 0
        """;

    // KEYS: the counters; ARGV[1]: now (Unix ms). Returns {index of the counter locked longest (0: none), its lock end};
    // when none is locked, deletes them all in the same step, so no failure can slip in between.
    private const string SucceedScript = """
        local now = tonumber(ARGV[1])
        local index, lockedUntil = 0, 0
        for i = 1, #KEYS do
          local until_ = tonumber(redis.call('HGET', KEYS[i], 'u') or '0')
          if until_ > now and until_ > lockedUntil then index, lockedUntil = i, until_ end
        end
        if index == 0 then redis.call('DEL', unpack(KEYS)) end
        return {index, string.format('%.0f', lockedUntil)}
        """;

    private readonly ThrottleSettings settings;
    private readonly byte[] keyHashKey;
    private readonly FailureCounts counts;
    private readonly SharedAuthorizationState? shared;
    private readonly TimeSpan operationTimeout;
    private readonly TimeSpan backOff;
    private readonly RedisBackOff gate;
    private readonly TimeProvider clock;
    private readonly ILogger logger;

    /// <param name="settings">The limits.</param>
    /// <param name="capacity">Most counters kept in memory.</param>
    /// <param name="keyRing">Gives the key that hashes identities and addresses.</param>
    /// <param name="shared">Redis, when <c>Cache:Redis</c> is set; null to count in this process only.</param>
    /// <param name="cacheOptions">The Redis operation timeout and back-off.</param>
    /// <param name="clock">Time, for counters, locks and the back-off.</param>
    /// <param name="logger">Logs Redis outages; never an identity or address.</param>
    protected FailureThrottle(ThrottleSettings settings, int capacity, KeyRing keyRing, SharedAuthorizationState? shared, CacheOptions cacheOptions, TimeProvider clock, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(keyRing);
        ArgumentNullException.ThrowIfNull(cacheOptions);
        if (settings.Identity.MaximumLockout >= Memory || settings.Address.MaximumLockout >= Memory)
        {
            throw new ArgumentException("A lockout must end before its counter is forgotten.", nameof(settings));
        }

        this.settings = settings;
        keyHashKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, keyRing.CacheIndexKey, 32, salt: [], info: "eligibility-gateway/failure-throttle/v1"u8.ToArray());
        counts = new FailureCounts(capacity);
        this.shared = shared;
        operationTimeout = cacheOptions.OperationTimeout;
        backOff = cacheOptions.BackOff;
        gate = new RedisBackOff(backOff, clock);
        this.clock = clock;
        this.logger = logger;
    }

    /// <summary>How many counters this process holds in memory now (never more than its capacity).</summary>
    public int TrackedCount => counts.Count;

    /// <summary>Whether <paramref name="identity"/> may be tried from <paramref name="address"/> now; changes nothing.</summary>
    public async ValueTask<ThrottleDecision> CheckAsync(string identity, IPAddress? address, CancellationToken cancellationToken)
    {
        var keys = Keys(identity, address);
        var now = clock.GetUtcNow();
        if (TryEnterRedis() is { } database)
        {
            try
            {
                var reads = keys.Select(key => database.HashGetAsync(key.RedisKey, "u")).ToArray();
                var values = await Bounded(Task.WhenAll(reads), cancellationToken).ConfigureAwait(false);
                MarkRedisInUse();
                var index = -1;
                long lockedUntil = 0;
                for (var i = 0; i < values.Length; i++)
                {
                    if (values[i].TryParse(out long until) && until > lockedUntil)
                    {
                        (index, lockedUntil) = (i, until);
                    }
                }

                return Decide(keys, index, DateTimeOffset.FromUnixTimeMilliseconds(lockedUntil), now);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                MarkRedisUnavailable(ex);
            }
        }

        var (lockedIndex, lockedUntilInMemory) = counts.Locked(keys, now);
        return Decide(keys, lockedIndex, lockedUntilInMemory, now);
    }

    /// <summary>Counts one failure against the identity and the address; either may lock.</summary>
    public async ValueTask RecordFailureAsync(string identity, IPAddress? address, CancellationToken cancellationToken)
    {
        var keys = Keys(identity, address);
        var now = clock.GetUtcNow();
        if (TryEnterRedis() is { } database)
        {
            try
            {
                var arguments = new List<RedisValue> { now.ToUnixTimeMilliseconds(), (long)Memory.TotalMilliseconds };
                foreach (var key in keys)
                {
                    arguments.Add(key.Limit.Failures);
                    arguments.Add((long)key.Limit.FirstLockout.TotalMilliseconds);
                    arguments.Add((long)key.Limit.MaximumLockout.TotalMilliseconds);
                }

                await Bounded(database.ScriptEvaluateAsync(RecordFailureScript, keys.Select(k => (RedisKey)k.RedisKey).ToArray(), arguments.ToArray()), cancellationToken).ConfigureAwait(false);
                MarkRedisInUse();
                return;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                MarkRedisUnavailable(ex);
            }
        }

        counts.RecordFailure(keys, now, Memory);
    }

    /// <summary>
    /// After a successful verification: refused when a counter locked meanwhile (the success is then not honoured);
    /// otherwise both counters are cleared, so a person's earlier mistakes and the address's count start again.
    /// </summary>
    public async ValueTask<ThrottleDecision> SucceedAsync(string identity, IPAddress? address, CancellationToken cancellationToken)
    {
        var keys = Keys(identity, address);
        var now = clock.GetUtcNow();
        if (TryEnterRedis() is { } database)
        {
            try
            {
                var result = (RedisResult[])(await Bounded(database.ScriptEvaluateAsync(SucceedScript, keys.Select(k => (RedisKey)k.RedisKey).ToArray(), [now.ToUnixTimeMilliseconds()]), cancellationToken).ConfigureAwait(false))!;
                MarkRedisInUse();
                var index = (int)result[0] - 1;
                var lockedUntil = long.Parse((string)result[1]!, NumberStyles.Integer, CultureInfo.InvariantCulture);
                if (index < 0)
                {
                    // Counts this process made while Redis was away go too.
                    counts.Clear(keys);
                }

                return Decide(keys, index, DateTimeOffset.FromUnixTimeMilliseconds(lockedUntil), now);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                MarkRedisUnavailable(ex);
            }
        }

        var (lockedIndex, lockedUntilInMemory) = counts.SucceedIfUnlocked(keys, now);
        return Decide(keys, lockedIndex, lockedUntilInMemory, now);
    }

    /// <summary>
    /// The address counter's value: an IPv4 address (an IPv4-mapped IPv6 address as IPv4), or for IPv6 the /64 it is
    /// in, since one household or host is commonly given a whole /64 and could otherwise step through its addresses.
    /// </summary>
    public static string AddressGroup(IPAddress? address)
    {
        if (address is null)
        {
            return UnknownAddress;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    private ThrottleDecision Decide(CounterKey[] keys, int index, DateTimeOffset lockedUntil, DateTimeOffset now) =>
        index >= 0 && lockedUntil > now
            ? new ThrottleDecision(lockedUntil - now, keys[index].Kind)
            : ThrottleDecision.Allow;

    private CounterKey[] Keys(string identity, IPAddress? address) =>
    [
        Key(settings.IdentityKind, identity, settings.Identity),
        Key(AddressKind, AddressGroup(address), settings.Address),
    ];

    private CounterKey Key(string kind, string value, ThrottleLimit limit)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(keyHashKey, Encoding.UTF8.GetBytes($"{settings.Name}\n{kind}\n{value}"), mac);
        return new CounterKey($"{settings.Name}-{kind}:{Base64UrlEncoder.Encode(mac.ToArray())}", kind, limit);
    }

    private IDatabase? TryEnterRedis()
    {
        if (shared is null)
        {
            return null;
        }

        if (!gate.TryEnter())
        {
            return null;
        }

        var multiplexer = shared.Multiplexer;
        if (!multiplexer.IsConnected)
        {
            // Fail now instead of trying the dead socket; the multiplexer keeps reconnecting.
            MarkRedisUnavailable(null);
            return null;
        }

        return multiplexer.GetDatabase();
    }

    private Task<T> Bounded<T>(Task<T> operation, CancellationToken cancellationToken) =>
        RedisBackOff.Bounded(operation, operationTimeout, clock, cancellationToken);

    private void MarkRedisInUse()
    {
        if (gate.MarkInUse() is not null)
        {
            Log.ThrottleSharedAgain(logger, settings.Name);
        }
    }

    private void MarkRedisUnavailable(Exception? exception)
    {
        if (gate.MarkUnavailable())
        {
            // Once per outage, not once per request, so that an outage under a guessing attack cannot flood the log.
            Log.ThrottleUnshared(logger, settings.Name, exception?.GetType().Name ?? "not connected", backOff);
        }
    }
}

/// <summary>One counter: its id (hashed), what it counts and its limit.</summary>
internal sealed record CounterKey(string Id, string Kind, ThrottleLimit Limit)
{
    /// <summary>The Redis key: never an identity or address in clear.</summary>
    public string RedisKey => "egw:throttle:v1:" + Id;
}

/// <summary>
/// The in-memory counters of one throttle, at most <c>capacity</c> of them. Two lists in the order of their last
/// failure (which, with one memory period for all, is also the order in which they expire): counters below their
/// limit and counters that have reached it. A new counter, when full, evicts expired counters, then the oldest below
/// its limit, then the oldest at its limit.
/// </summary>
internal sealed class FailureCounts
{
    private readonly int capacity;
    private readonly Dictionary<string, LinkedListNode<Counter>> counters = new(StringComparer.Ordinal);
    private readonly LinkedList<Counter> belowLimit = new();
    private readonly LinkedList<Counter> atLimit = new();
    private readonly Lock gate = new();

    public FailureCounts(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 16);
        this.capacity = capacity;
    }

    public int Count
    {
        get
        {
            lock (gate)
            {
                return counters.Count;
            }
        }
    }

    /// <summary>The counter locked longest among <paramref name="keys"/> (index, lock end), or index -1.</summary>
    public (int Index, DateTimeOffset LockedUntil) Locked(CounterKey[] keys, DateTimeOffset now)
    {
        lock (gate)
        {
            return LockedLocked(keys, now);
        }
    }

    public void RecordFailure(CounterKey[] keys, DateTimeOffset now, TimeSpan memory)
    {
        lock (gate)
        {
            foreach (var key in keys)
            {
                var node = Live(key.Id, now);
                if (node is null)
                {
                    MakeRoom(now);
                    node = new LinkedListNode<Counter>(new Counter(key.Id));
                    counters[key.Id] = node;
                }
                else
                {
                    node.List!.Remove(node);
                }

                var counter = node.Value;
                counter.Failures++;
                var lockout = key.Limit.LockoutAfter(counter.Failures);
                if (lockout > TimeSpan.Zero && now + lockout > counter.LockedUntil)
                {
                    counter.LockedUntil = now + lockout;
                }

                counter.ExpiresAt = now + memory;
                (counter.Failures >= key.Limit.Failures ? atLimit : belowLimit).AddLast(node);
            }
        }
    }

    /// <summary>The lock that refuses a success, or, when none, clears the counters and answers index -1.</summary>
    public (int Index, DateTimeOffset LockedUntil) SucceedIfUnlocked(CounterKey[] keys, DateTimeOffset now)
    {
        lock (gate)
        {
            var locked = LockedLocked(keys, now);
            if (locked.Index < 0)
            {
                ClearLocked(keys);
            }

            return locked;
        }
    }

    public void Clear(CounterKey[] keys)
    {
        lock (gate)
        {
            ClearLocked(keys);
        }
    }

    private (int Index, DateTimeOffset LockedUntil) LockedLocked(CounterKey[] keys, DateTimeOffset now)
    {
        var index = -1;
        var lockedUntil = DateTimeOffset.MinValue;
        for (var i = 0; i < keys.Length; i++)
        {
            if (Live(keys[i].Id, now) is { } node && node.Value.LockedUntil > now && node.Value.LockedUntil > lockedUntil)
            {
                (index, lockedUntil) = (i, node.Value.LockedUntil);
            }
        }

        return (index, lockedUntil);
    }

    private void ClearLocked(CounterKey[] keys)
    {
        foreach (var key in keys)
        {
            if (counters.Remove(key.Id, out var node))
            {
                node.List!.Remove(node);
            }
        }
    }

    /// <summary>The counter's node, or null when it is absent or expired (an expired one is dropped).</summary>
    private LinkedListNode<Counter>? Live(string id, DateTimeOffset now)
    {
        if (!counters.TryGetValue(id, out var node))
        {
            return null;
        }

        if (node.Value.ExpiresAt > now)
        {
            return node;
        }

        counters.Remove(id);
        node.List!.Remove(node);
        return null;
    }

    private void MakeRoom(DateTimeOffset now)
    {
        if (counters.Count < capacity)
        {
            return;
        }

        foreach (var list in new[] { belowLimit, atLimit })
        {
            while (list.First is { } oldest && oldest.Value.ExpiresAt <= now)
            {
                Evict(oldest);
            }
        }

        if (counters.Count >= capacity)
        {
            Evict(belowLimit.First ?? atLimit.First!);
        }
    }

    private void Evict(LinkedListNode<Counter> node)
    {
        counters.Remove(node.Value.Id);
        node.List!.Remove(node);
    }

    private sealed class Counter(string id)
    {
        public string Id { get; } = id;

        public long Failures { get; set; }

        public DateTimeOffset LockedUntil { get; set; } = DateTimeOffset.MinValue;

        public DateTimeOffset ExpiresAt { get; set; }
    }
}
