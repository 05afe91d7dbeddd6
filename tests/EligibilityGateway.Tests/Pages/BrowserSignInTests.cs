using Microsoft.Playwright;

namespace EligibilityGateway.Tests.Pages;

/// <summary>
/// A real browser (Debian's chromium, driven by Playwright) through the start page, sign-in, the account and
/// sign-out: the pages render with GOV.UK Frontend's styles and scripts under the strict CSP, with no console error.
/// Screenshots are kept in <c>artifacts/screenshots/</c>.
/// </summary>
public sealed class BrowserSignInTests
{
    [ChromiumFact]
    public async Task Citizen_SignsInLandsOnTheAccountAndSignsOut_WithGovukStylesAndNoConsoleError()
    {
        await using var gateway = await PageGateway.StartAsync();
        await using var browser = await BrowserSession.OpenAsync(gateway.BaseAddress);
        var page = browser.Page;

        await page.GotoAsync("/");
        await Assertions.Expect(page).ToHaveTitleAsync("Check eligibility for council services with your consent – Eligibility Gateway");
        (await page.EvalOnSelectorAsync<string>(".govuk-generic-header", "e => getComputedStyle(e).backgroundColor")).Should().Be("rgb(11, 12, 12)");
        (await page.EvalOnSelectorAsync<string>("h1", "e => getComputedStyle(e).fontFamily")).Should().Contain("GDS Transport");
        (await page.EvalOnSelectorAsync<bool>("body", "e => e.classList.contains('govuk-frontend-supported')")).Should().BeTrue("the nonce'd inline script ran under the CSP");
        await browser.ScreenshotAsync("pages-start");

        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(gateway.BaseAddress + "sign-in");

        // GOV.UK Frontend's module initialised the password input: its Show button is no longer hidden.
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Show password" })).ToBeVisibleAsync();
        await page.GetByLabel("Username").FillAsync("smith");
        await page.GetByLabel("Password", new PageGetByLabelOptions { Exact = true }).FillAsync(PageGateway.Password);
        await browser.ScreenshotAsync("pages-sign-in");
        await page.Locator("form button[type=submit]").ClickAsync();

        await Assertions.Expect(page).ToHaveURLAsync(gateway.BaseAddress + "account");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Your account");
        await Assertions.Expect(page.Locator(".govuk-summary-list")).ToContainTextAsync("AB 12 34 56 C");
        await browser.ScreenshotAsync("pages-account");

        await page.GetByRole(AriaRole.Link, new PageGetByRoleOptions { Name = "Sign out" }).ClickAsync();
        await page.Locator("main form button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("You are signed out");
        await browser.ScreenshotAsync("pages-signed-out");
        await page.GotoAsync("/account");
        await Assertions.Expect(page).ToHaveURLAsync(gateway.BaseAddress + "sign-in?returnUrl=%2Faccount");

        browser.Problems.Should().BeEmpty();
    }
}

/// <summary>
/// A fact that needs Debian's chromium. It skips, saying why, only where <c>/usr/bin/chromium</c> is missing;
/// <c>./scripts/test.sh</c> installs it, so CI always runs it.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class ChromiumFactAttribute : FactAttribute
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ChromiumPath))
        {
            Skip = $"{ChromiumPath} is missing: install Debian's chromium (apt-get install chromium), or run ./scripts/test.sh as root, which does.";
        }
    }
}
