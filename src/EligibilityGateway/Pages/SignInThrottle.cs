using EligibilityGateway.Authorization;
using EligibilityGateway.Caching;
using EligibilityGateway.Security;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace EligibilityGateway.Pages;

/// <summary>
/// Slows password guessing at <c>/sign-in</c>, against one username from anywhere and from one address against any
/// usernames (password spraying); Pages/README.md, "Sign-in throttling". Usernames are counted whether or not they
/// exist, so the throttle reveals nothing about which are real. Counters are found by a keyed hash, never by the
/// username (a citizen's username is their surname) or the address, and are shared through Redis when
/// <c>Cache:Redis</c> is set, so several replicas do not multiply the allowance.
/// </summary>
internal sealed class SignInThrottle : FailureThrottle
{
    /// <summary>
    /// 20 failures per username, 10 per address (IPv4 address or IPv6 /64), so one address alone cannot lock someone
    /// else out; then 1 minute, doubling with each further failure, at most 5 minutes; counts forgotten 15 minutes
    /// after the last failure, and both the username's and the address's cleared by a successful sign-in.
    /// </summary>
    public static readonly ThrottleSettings Limits = new(
        "sign-in",
        "username",
        Identity: new ThrottleLimit(20, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5)),
        Address: new ThrottleLimit(10, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5)));

    /// <summary>Shared through Redis when <c>Cache:Redis</c> is set, else this process's counts.</summary>
    public SignInThrottle(KeyRing keyRing, SharedAuthorizationState shared, IOptions<CacheOptions> cacheOptions, TimeProvider clock, ILogger<SignInThrottle> logger)
        : base(Limits, DefaultCapacity, keyRing, shared.IsEnabled ? shared : null, cacheOptions.Value, clock, logger)
    {
    }

    /// <summary>This process's counts only, in at most <paramref name="capacity"/> counters.</summary>
    internal SignInThrottle(KeyRing keyRing, TimeProvider clock, int capacity = DefaultCapacity)
        : base(Limits, capacity, keyRing, shared: null, new CacheOptions(), clock, NullLogger.Instance)
    {
    }
}
