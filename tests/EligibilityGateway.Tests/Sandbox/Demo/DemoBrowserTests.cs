using EligibilityGateway.Tests.Pages;
using Microsoft.Playwright;

namespace EligibilityGateway.Tests.Sandbox.Demo;

/// <summary>
/// The whole consent journey in a real browser (Debian's chromium, driven by Playwright) through the demo council:
/// the officer starts, the resident signs in as Smith on the gateway and presses Allow, the demo shows "eligible";
/// the resident withdraws the consent in their account, and the demo's next check shows the gateway's 409. Screenshots
/// of the demo's answer, the consent page and the account are kept in <c>artifacts/screenshots/</c>.
/// </summary>
public sealed class DemoBrowserTests(DemoSandbox sandbox) : IClassFixture<DemoSandbox>
{
    [ChromiumFact]
    public async Task Demo_ConsentCheckRevokeAndCheckAgain_ShowsEligibleThenThe409()
    {
        await using var browser = await BrowserSession.OpenAsync(sandbox.Address);
        var page = browser.Page;

        // The council officer starts.
        await page.GotoAsync("/demo");
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Check a resident's eligibility");
        (await page.EvalOnSelectorAsync<string>("h1", "e => getComputedStyle(e).fontFamily")).Should().Contain("GDS Transport", "GOV.UK Frontend's styles load under the CSP");
        await page.GetByLabel("Leeds City Council").CheckAsync();
        await page.GetByLabel("Free school meals").CheckAsync();
        await page.GetByLabel("Case reference").FillAsync("FSM-2026-000123");
        await browser.ScreenshotAsync("demo-start");
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Ask the resident for consent" }).ClickAsync();

        // The resident signs in on the gateway and reads the consent page.
        await Assertions.Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/sign-in\\?returnUrl="));
        await page.GetByLabel("Username").FillAsync("smith");
        await page.GetByLabel("Password", new PageGetByLabelOptions { Exact = true }).FillAsync("sandbox");
        await page.Locator("form button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Let Leeds City Council check if you qualify for Free school meals");
        await browser.ScreenshotAsync("demo-consent");
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Allow" }).ClickAsync();

        // Back at the council: the code was exchanged and the check made; the address bar holds no code.
        await Assertions.Expect(page).ToHaveURLAsync(new Uri(sandbox.Address, "/demo/answer").AbsoluteUri);
        await Assertions.Expect(page.Locator("#answer h1")).ToHaveTextAsync("Eligible for free school meals");
        await browser.ScreenshotAsync("demo-answer-eligible");

        // The resident withdraws the consent in their account on the gateway.
        await page.GotoAsync("/account");
        var card = page.Locator(".govuk-summary-card").Filter(new LocatorFilterOptions { HasText = "Free school meals" }).First;
        await Assertions.Expect(card).ToContainTextAsync("Leeds City Council");
        await browser.ScreenshotAsync("demo-account");
        await card.GetByRole(AriaRole.Button, new LocatorGetByRoleOptions { Name = "Revoke" }).ClickAsync();
        await Assertions.Expect(page.Locator(".govuk-notification-banner")).ToContainTextAsync("You withdrew your consent");
        await browser.ScreenshotAsync("demo-account-revoked");

        // The council checks again under the same token: the gateway's 409, shown plainly.
        await page.GotoAsync("/demo/answer");
        await page.GetByRole(AriaRole.Button, new PageGetByRoleOptions { Name = "Check again" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("The gateway refused the check");
        await Assertions.Expect(page.Locator("#refusal")).ToContainTextAsync("409 Conflict");
        await Assertions.Expect(page.Locator("#refusal")).ToContainTextAsync("revoked");
        await browser.ScreenshotAsync("demo-answer-refused");

        browser.Problems.Should().BeEmpty();
    }
}
