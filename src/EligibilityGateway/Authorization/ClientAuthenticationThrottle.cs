using EligibilityGateway.Caching;
using EligibilityGateway.Security;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Authorization;

/// <summary>
/// Slows guessing of <c>client_secret_basic</c> secrets at every endpoint that authenticates clients (token, PAR,
/// introspection, revocation): per client id and per client address (Authorization/README.md, "Throttling
/// client_secret_basic"). A throttled attempt is refused before its secret is compared, with the same
/// <c>invalid_client</c> 401 as a wrong secret plus <c>Retry-After</c>, whether or not the client exists.
/// <c>private_key_jwt</c> is not counted: an assertion cannot be guessed.
/// </summary>
internal sealed class ClientAuthenticationThrottle : FailureThrottle
{
    /// <summary>
    /// 20 failures per client id, 10 per address (IPv4 address or IPv6 /64); then 1 minute, doubling with each further
    /// failure, at most 5 minutes; counts forgotten 15 minutes after the last failure or at a success.
    /// </summary>
    public static readonly ThrottleSettings Limits = new(
        "client-secret",
        "client",
        Identity: new ThrottleLimit(20, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5)),
        Address: new ThrottleLimit(10, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5)));

    /// <summary>Shared through Redis when <c>Cache:Redis</c> is set, else this process's counts.</summary>
    public ClientAuthenticationThrottle(KeyRing keyRing, SharedAuthorizationState shared, IOptions<CacheOptions> cacheOptions, TimeProvider clock, ILogger<ClientAuthenticationThrottle> logger)
        : base(Limits, DefaultCapacity, keyRing, shared.IsEnabled ? shared : null, cacheOptions.Value, clock, logger)
    {
    }

    /// <summary>This process's counts only, in at most <paramref name="capacity"/> counters.</summary>
    internal ClientAuthenticationThrottle(KeyRing keyRing, TimeProvider clock, int capacity = DefaultCapacity)
        : base(Limits, capacity, keyRing, shared: null, new CacheOptions(), clock, NullLogger.Instance)
    {
    }
}
