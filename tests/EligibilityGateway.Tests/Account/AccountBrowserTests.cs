using EligibilityGateway.Tests.Pages;
using Microsoft.Playwright;

namespace EligibilityGateway.Tests.Account;

/// <summary>
/// The account in a real browser (Debian's chromium, driven by Playwright) with one authorised consent: the consent
/// card, its Revoke button and the success banner render with GOV.UK Frontend under the strict CSP, with no console
/// error. Screenshots are kept in <c>artifacts/screenshots/</c>.
/// </summary>
public sealed class AccountBrowserTests(AccountFixture sandbox) : IClassFixture<AccountFixture>
{
    [ChromiumFact]
    public async Task Account_WithOneConsent_ShowsItAndWithdrawsItWithTheRevokeButton()
    {
        var consentId = await sandbox.AuthorisedConsentAsync("smith");
        using (var check = await sandbox.ConsentCheckAsync(consentId))
        {
            check.EnsureSuccessStatusCode();
        }

        await using var browser = await BrowserSession.OpenAsync(sandbox.Sandbox.GatewayAddress);
        var page = browser.Page;

        await page.GotoAsync("/sign-in?returnUrl=%2Faccount");
        await page.GetByLabel("Username").FillAsync("smith");
        await page.GetByLabel("Password", new PageGetByLabelOptions { Exact = true }).FillAsync(PageGateway.Password);
        await page.Locator("form button[type=submit]").ClickAsync();
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Your account");

        var card = page.Locator($"#consent-{consentId}");
        await Assertions.Expect(card.Locator(".govuk-summary-card__title")).ToHaveTextAsync("Free school meals – Leeds City Council");
        await Assertions.Expect(card.Locator(".govuk-tag")).ToHaveTextAsync("Active");
        await Assertions.Expect(card.Locator(".govuk-summary-list__row", new LocatorLocatorOptions { HasText = "Times used" }).Locator("dd")).ToHaveTextAsync("1");
        await Assertions.Expect(page.Locator("table.govuk-table")).ToContainTextAsync("With your consent");
        await card.ScrollIntoViewIfNeededAsync();
        await browser.ScreenshotAsync("account-consents");

        await card.GetByRole(AriaRole.Button, new LocatorGetByRoleOptions { Name = "Revoke consent for Free school meals, Leeds City Council" }).ClickAsync();

        await Assertions.Expect(page.Locator(".govuk-notification-banner--success")).ToContainTextAsync("You withdrew your consent");
        await Assertions.Expect(page.Locator($"#consent-{consentId} .govuk-tag")).ToHaveTextAsync("Withdrawn");
        await browser.ScreenshotAsync("account-consent-withdrawn");
        using (var after = await sandbox.ConsentCheckAsync(consentId))
        {
            after.StatusCode.Should().Be(System.Net.HttpStatusCode.Conflict);
        }

        browser.Problems.Should().BeEmpty();
    }
}
