using System.Net;
using EligibilityGateway.Tests.Infrastructure;

namespace EligibilityGateway.Tests.Pages;

/// <summary>
/// Password spraying at <c>/sign-in</c> over real HTTP: one address trying many usernames is refused after ten
/// failures, whoever it names next, while other addresses carry on.
/// </summary>
public sealed class SignInAddressThrottleTests : IAsyncLifetime
{
    private const string NoMatch = "Enter a correct username and password";
    private const string TooMany = "You have tried to sign in too many times";

    private PageGateway gateway = null!;

    public async Task InitializeAsync() => gateway = await PageGateway.StartAsync();

    public async Task DisposeAsync() => await gateway.DisposeAsync();

    [Fact]
    public async Task OneAddressGuessingManyUsernames_IsRefusedAfterTenFailures_EvenWithARightPassword()
    {
        using var sprayer = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(1));
        for (var i = 0; i < 10; i++)
        {
            using var guess = await PageGateway.SignInAsync(sprayer, $"person-{i}", "Winter2026!");
            (await guess.Content.ReadAsStringAsync()).Should().Contain(NoMatch, $"failure {i + 1} from the address is within its limit");
        }

        using var refused = await PageGateway.SignInAsync(sprayer, "smith", PageGateway.Password);
        using var otherAddress = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(2));
        using var elsewhere = await PageGateway.SignInAsync(otherAddress, "smith", PageGateway.Password);

        refused.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        refused.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromMinutes(1));
        (await refused.Content.ReadAsStringAsync()).Should().Contain(TooMany + ". Wait 1 minute, then try again");
        elsewhere.StatusCode.Should().Be(HttpStatusCode.Redirect, "the limit is the address's, and smith's own count is 0");
    }

    [Fact]
    public async Task ASuccessfulSignIn_ClearsTheAddressCount()
    {
        using var office = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(3));
        for (var i = 0; i < 9; i++)
        {
            using var _ = await PageGateway.SignInAsync(office, $"person-{i}", "typo");
        }

        (await PageGateway.SignInAsync(office, "taylor", PageGateway.Password)).StatusCode.Should().Be(HttpStatusCode.Redirect);
        using var colleague = LoopbackSource.Client(gateway.BaseAddress, LoopbackSource.Address(3));
        for (var i = 0; i < 9; i++)
        {
            using var guess = await PageGateway.SignInAsync(colleague, $"person-{i}", "typo");
            (await guess.Content.ReadAsStringAsync()).Should().Contain(NoMatch).And.NotContain(TooMany);
        }

        (await PageGateway.SignInAsync(colleague, "khan", PageGateway.Password)).StatusCode.Should().Be(HttpStatusCode.Redirect, "18 failures, but never 10 since the last success");
    }
}
