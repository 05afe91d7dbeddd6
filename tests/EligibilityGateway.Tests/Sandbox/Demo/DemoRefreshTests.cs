using System.Net;
using EligibilityGateway.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace EligibilityGateway.Tests.Sandbox.Demo;

/// <summary>The demo sandbox on a clock the tests move, so that a token's lifetime passes within a test without waiting for it.</summary>
public sealed class FakeClockDemoSandbox : DemoSandbox
{
    internal FakeTimeProvider Clock { get; } = new(TimeProvider.System.GetUtcNow());

    protected override void Configure(WebApplicationBuilder builder) => builder.Services.AddSingleton<TimeProvider>(Clock);
}

/// <summary>
/// "Check again" once the access token is within ten seconds of expiry: the demo refreshes it (RFC 6749 §6) and checks
/// with the new one; once the consent is revoked the refresh itself is refused, and the demo says so.
/// </summary>
public sealed class DemoRefreshTests(FakeClockDemoSandbox sandbox) : IClassFixture<FakeClockDemoSandbox>
{
    /// <summary>From a token's issue to nine seconds before it expires (the gateway's default lifetime).</summary>
    private static readonly TimeSpan IntoTheLastTenSeconds = new AuthorizationServerOptions().AccessTokenLifetime - TimeSpan.FromSeconds(9);

    [Fact]
    public async Task CheckAgain_WithAnExpiringToken_RefreshesItAndChecks_AndAfterRevocationShowsTheRefusedRefresh()
    {
        using var browser = sandbox.NewBrowser();
        using var start = await DemoSandbox.StartAsync(browser);
        (await browser.GetAsync(await DemoSandbox.AuthoriseAsync(browser, start))).Dispose();
        (await browser.GetStringAsync("/demo/answer")).Should().Contain("Outcome <strong>eligible</strong>");
        var refreshesBefore = (await sandbox.TokenIssuancesAsync()).Count(r => r.StartsWith("token:refresh_token/", StringComparison.Ordinal));

        // Into the access token's last ten seconds: the next use refreshes first.
        sandbox.Clock.Advance(IntoTheLastTenSeconds);
        await CheckAgainAsync(browser);

        (await browser.GetStringAsync("/demo/answer")).Should().Contain("Outcome <strong>eligible</strong>").And.Contain("2 in this visit");
        (await sandbox.TokenIssuancesAsync()).Count(r => r.StartsWith("token:refresh_token/", StringComparison.Ordinal))
            .Should().Be(refreshesBefore + 1, "the demo refreshed the token before it ran out");

        await RevokeInTheAccountAsync(browser);
        sandbox.Clock.Advance(IntoTheLastTenSeconds);
        await CheckAgainAsync(browser);

        var refused = await browser.GetStringAsync("/demo/answer");
        refused.Should().Contain("The gateway refused a step").And.Contain("Refresh (POST /connect/token)").And.Contain("invalid_grant");
    }

    private static async Task CheckAgainAsync(HttpClient browser)
    {
        var token = await DemoSandbox.DemoTokenAsync(browser, "/demo/answer");
        using var again = await browser.PostAsync("/demo/check-again", new FormUrlEncodedContent(new Dictionary<string, string> { ["__DemoRequestVerificationToken"] = token }));
        again.StatusCode.Should().Be(HttpStatusCode.SeeOther);
    }

    /// <summary>The resident (already signed in in this browser) presses Revoke on the only consent in their account.</summary>
    private static async Task RevokeInTheAccountAsync(HttpClient browser)
    {
        using var account = await browser.GetAsync("/account");
        var html = await account.Content.ReadAsStringAsync();
        account.StatusCode.Should().Be(HttpStatusCode.OK, html);
        var form = System.Text.RegularExpressions.Regex.Match(html,
            "<form method=\"post\" action=\"/account\\?handler=Revoke\"[^>]*>(.*?)</form>", System.Text.RegularExpressions.RegexOptions.Singleline);
        form.Success.Should().BeTrue("an active consent has a Revoke form");
        var fields = System.Text.RegularExpressions.Regex.Matches(form.Groups[1].Value, "<input[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"")
            .ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        using var revoked = await browser.PostAsync("/account?handler=Revoke", new FormUrlEncodedContent(fields));
        revoked.StatusCode.Should().Be(HttpStatusCode.Redirect, await revoked.Content.ReadAsStringAsync());
    }
}
