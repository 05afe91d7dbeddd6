using System.Net;
using EligibilityGateway.Pages;
using EligibilityGateway.Tests.Caching;

namespace EligibilityGateway.Tests.Pages;

/// <summary>
/// The sign-in throttle driven directly, for what would take tens of thousands of sign-ins over HTTP: a spray of
/// invented usernames, the memory bound, and the lockout's timing on a clock the test moves. The page's own answer
/// is tested over HTTP in <see cref="SignInTests"/> and <see cref="SignInAddressThrottleTests"/>.
/// </summary>
public sealed class SignInThrottleTests : IDisposable
{
    private const int UsernameLimit = 20;
    private const int AddressLimit = 10;

    private readonly TemporaryKeyRing keys = new();
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero));

    public void Dispose() => keys.Dispose();

    [Fact]
    public void Limits_AreTheDocumentedOnes()
    {
        SignInThrottle.Limits.Identity.Should().Be(new EligibilityGateway.Authorization.ThrottleLimit(UsernameLimit, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5)));
        SignInThrottle.Limits.Address.Should().Be(new EligibilityGateway.Authorization.ThrottleLimit(AddressLimit, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public async Task ARealUsername_IsStillThrottledAfterItsFailures_WhenTenThousandAndFiftyInventedUsernamesCameFirst()
    {
        var throttle = new SignInThrottle(keys.Ring, clock);
        for (var i = 0; i < 10_050; i++)
        {
            await FailAsync(throttle, $"invented-{i}", Botnet(i));
        }

        for (var failure = 0; failure < UsernameLimit; failure++)
        {
            var address = Botnet(20_000 + failure);
            (await throttle.CheckAsync("smith", address, default)).Allowed.Should().BeTrue($"failure {failure + 1} is within the limit");
            await throttle.RecordFailureAsync("smith", address, default);
        }

        var refused = await throttle.CheckAsync("smith", Botnet(30_000), default);
        refused.Allowed.Should().BeFalse("smith has had 20 failures, whatever was sprayed before");
        refused.RefusedBy.Should().Be("username");
        refused.RetryAfter.Should().Be(TimeSpan.FromMinutes(1));
        (await throttle.CheckAsync("jones", Botnet(30_000), default)).Allowed.Should().BeTrue("only smith is locked");
    }

    [Fact]
    public async Task TrackedCounters_NeverExceedTheBound_NewUsernamesAreStillCounted_AndALockedOneOutlivesTheSpray()
    {
        const int capacity = 1_000;
        var throttle = new SignInThrottle(keys.Ring, clock, capacity);
        for (var failure = 0; failure < UsernameLimit; failure++)
        {
            await throttle.RecordFailureAsync("smith", Botnet(50_000 + failure), default);
        }

        var most = 0;
        for (var i = 0; i < 10_050; i++)
        {
            await throttle.RecordFailureAsync($"invented-{i}", Botnet(i), default);
            most = Math.Max(most, throttle.TrackedCount);
        }

        most.Should().Be(capacity, "the spray fills the bound and never passes it");
        for (var failure = 0; failure < UsernameLimit; failure++)
        {
            await throttle.RecordFailureAsync("jones", Botnet(60_000 + failure), default);
            throttle.TrackedCount.Should().BeLessThanOrEqualTo(capacity);
        }

        (await throttle.CheckAsync("jones", Botnet(70_000), default)).RefusedBy.Should().Be("username", "a username first seen after the spray is counted: old counters are evicted, new ones are not refused");
        (await throttle.CheckAsync("smith", Botnet(70_000), default)).RefusedBy.Should().Be("username", "locked counters are evicted last");
    }

    [Fact]
    public async Task Lockout_EndsAfterOneMinute_ThenDoublesWithEachFurtherFailure_UpToFiveMinutes()
    {
        var throttle = new SignInThrottle(keys.Ring, clock);
        for (var failure = 0; failure < UsernameLimit; failure++)
        {
            await throttle.RecordFailureAsync("taylor", Botnet(failure), default);
        }

        (await throttle.CheckAsync("taylor", Botnet(100), default)).RetryAfter.Should().Be(TimeSpan.FromMinutes(1));
        clock.Advance(TimeSpan.FromSeconds(59));
        (await throttle.CheckAsync("taylor", Botnet(100), default)).RetryAfter.Should().Be(TimeSpan.FromSeconds(1));
        clock.Advance(TimeSpan.FromSeconds(1));
        (await throttle.CheckAsync("taylor", Botnet(100), default)).Allowed.Should().BeTrue("the first lockout lasts one minute");

        foreach (var minutes in new[] { 2, 4, 5, 5 })
        {
            await throttle.RecordFailureAsync("taylor", Botnet(100 + minutes), default);
            var refused = await throttle.CheckAsync("taylor", Botnet(200), default);
            refused.RefusedBy.Should().Be("username");
            refused.RetryAfter.Should().Be(TimeSpan.FromMinutes(minutes));
            clock.Advance(TimeSpan.FromMinutes(minutes));
            (await throttle.CheckAsync("taylor", Botnet(200), default)).Allowed.Should().BeTrue($"a {minutes}-minute lockout is over after {minutes} minutes");
        }
    }

    [Fact]
    public async Task Counts_AreForgottenFifteenMinutesAfterTheLastFailure()
    {
        var throttle = new SignInThrottle(keys.Ring, clock);
        for (var failure = 0; failure < UsernameLimit - 1; failure++)
        {
            await throttle.RecordFailureAsync("brown", Botnet(failure), default);
        }

        clock.Advance(TimeSpan.FromMinutes(15));
        for (var failure = 0; failure < UsernameLimit - 1; failure++)
        {
            await throttle.RecordFailureAsync("brown", Botnet(100 + failure), default);
        }

        (await throttle.CheckAsync("brown", Botnet(200), default)).Allowed.Should().BeTrue("the first 19 were forgotten");
        await throttle.RecordFailureAsync("brown", Botnet(201), default);
        (await throttle.CheckAsync("brown", Botnet(200), default)).RetryAfter.Should().Be(TimeSpan.FromMinutes(1), "a fresh count starts at the first lockout");
    }

    [Fact]
    public async Task OneAddress_IsLockedAfterTenFailuresAcrossUsernames_AndAnIpv6Slash64CountsAsOneAddress()
    {
        var throttle = new SignInThrottle(keys.Ring, clock);
        for (var i = 1; i <= AddressLimit; i++)
        {
            await throttle.RecordFailureAsync($"spray-{i}", IPAddress.Parse($"2001:db8:1:2::{i:x}"), default);
        }

        var refused = await throttle.CheckAsync("smith", IPAddress.Parse("2001:db8:1:2:ffff:ffff:ffff:ffff"), default);
        refused.RefusedBy.Should().Be("address");
        refused.RetryAfter.Should().Be(TimeSpan.FromMinutes(1));
        (await throttle.CheckAsync("smith", IPAddress.Parse("2001:db8:1:3::1"), default)).Allowed.Should().BeTrue("the next /64 is another address");

        for (var i = 1; i <= AddressLimit; i++)
        {
            await throttle.RecordFailureAsync($"spray-{i}", IPAddress.Parse("203.0.113.9"), default);
        }

        (await throttle.CheckAsync("smith", IPAddress.Parse("::ffff:203.0.113.9"), default)).RefusedBy.Should().Be("address", "an IPv4-mapped address is the IPv4 address");
    }

    [Fact]
    public async Task Success_ClearsTheUsernameAndTheAddress_ButNotWhileEitherIsLocked()
    {
        var throttle = new SignInThrottle(keys.Ring, clock);
        var address = IPAddress.Parse("198.51.100.7");
        for (var i = 0; i < AddressLimit - 1; i++)
        {
            await throttle.RecordFailureAsync("khan", address, default);
        }

        (await throttle.SucceedAsync("khan", address, default)).Allowed.Should().BeTrue();
        throttle.TrackedCount.Should().Be(0);

        for (var i = 0; i < AddressLimit; i++)
        {
            await throttle.RecordFailureAsync($"spray-{i}", address, default);
        }

        var raced = await throttle.SucceedAsync("khan", address, default);
        raced.RefusedBy.Should().Be("address", "a right password that arrives once the address is locked is not honoured");
        (await throttle.CheckAsync("jones", address, default)).Allowed.Should().BeFalse("and the lock stays");
    }

    private static async Task FailAsync(SignInThrottle throttle, string username, IPAddress address)
    {
        if (!(await throttle.CheckAsync(username, address, default)).Allowed)
        {
            throw new InvalidOperationException($"{username} from {address} was refused before failing");
        }

        await throttle.RecordFailureAsync(username, address, default);
    }

    /// <summary>The <paramref name="n"/>th address of a spread-out attacker (10.0.0.0/8).</summary>
    private static IPAddress Botnet(int n) => new([10, (byte)(n >> 16), (byte)(n >> 8), (byte)n]);
}
